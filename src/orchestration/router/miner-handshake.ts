import type { Logger } from 'pino';
import type { Address } from 'viem';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import type { HandshakeRefusalCode } from '../../protocol/error-codes.ts';
import { asNeurinoError } from '../../protocol/errors.ts';
import { CHALLENGE_TTL_MS, checkChallengeAnswer, createChallenge } from '../../protocol/handshake-auth.ts';
import type { Challenge, Hello } from '../../protocol/messages/handshake.ts';
import type { MinerMessage } from '../../protocol/messages/index.ts';
import {
  MIN_SUPPORTED_PROTOCOL_VERSION,
  negotiateProtocolVersion,
  PROTOCOL_VERSION,
} from '../../protocol/version.ts';
import type { MinerConnection } from './miner-connection.ts';
import { CLOSE_CODES } from './miner-socket.ts';
import type { NodeAdmission } from './node-admission.ts';

export interface HandshakeOptions {
  routerId: string;
  /** Domain of the challenge signature. */
  domain: ProtocolDomain;
  admission: NodeAdmission;
  timeoutMs: number;
  challengeTtlMs?: number;
  logger: Logger;
  /** Counts refusals by code, for metrics. */
  onRefused?: (code: HandshakeRefusalCode) => void;
}

/** A miner that proved its key and passed admission. */
export interface AdmittedMiner {
  node: Address;
  version: number;
  software: Hello['software'];
}

/**
 * hello → challenge → signed answer → on-chain admission. Resolves with the admitted miner (the caller
 * sends `welcome`), or undefined after sending `refused` and closing; never rejects.
 */
export function runHandshake(
  connection: MinerConnection,
  options: HandshakeOptions,
): Promise<AdmittedMiner | undefined> {
  const { logger } = options;
  return new Promise((resolve) => {
    let step: 'hello' | 'answer' | 'admission' | 'done' = 'hello';
    // A function, so checks after an await read the current step (and the compiler does not narrow it).
    const finished = () => step === 'done';
    let hello: Hello | undefined;
    let version = 0;
    let challenge: Challenge | undefined;

    const refuse = (code: HandshakeRefusalCode, reason: string) => {
      if (finished()) return;
      step = 'done';
      logger.info(
        { code, reason, node: hello?.node, remoteAddress: connection.remoteAddress },
        'refused a miner',
      );
      options.onRefused?.(code);
      connection.send({ type: 'refused', code, reason: reason.slice(0, 512) });
      connection.close(CLOSE_CODES.policyViolation, code);
      resolve(undefined);
    };

    const onHello = (message: Hello) => {
      const negotiated = negotiateProtocolVersion(message.version, message.minVersion ?? message.version);
      hello = message;
      if (negotiated === undefined) {
        const offered = `${message.minVersion ?? message.version}..${message.version}`;
        const supported = `${MIN_SUPPORTED_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`;
        return refuse('unsupported_version', `router speaks protocol ${supported}, miner offered ${offered}`);
      }
      version = negotiated;
      challenge = createChallenge(options.routerId, Date.now(), options.challengeTtlMs ?? CHALLENGE_TTL_MS);
      step = 'answer';
      connection.send(challenge);
    };

    const onAnswer = async (signature: `0x${string}`, node: Address, sent: Challenge) => {
      step = 'admission';
      const failure = await checkChallengeAnswer(options.domain, sent, node, signature);
      if (failure !== undefined) {
        return refuse(
          failure.code === 'challenge_expired' ? 'challenge_expired' : 'bad_signature',
          failure.message,
        );
      }
      let verdict: Awaited<ReturnType<NodeAdmission['check']>>;
      try {
        verdict = await options.admission.check(node);
      } catch (error) {
        const cause = asNeurinoError(error);
        logger.warn({ err: cause, node }, 'could not check a miner admission');
        return refuse(
          'service_unavailable',
          `cannot check the node's stake right now (${cause.code}); retry later`,
        );
      }
      if (!verdict.ok) return refuse(verdict.code, verdict.reason);
      if (connection.closed || finished()) return resolve(undefined);
      step = 'done';
      resolve({ node, version, software: (hello as Hello).software });
    };

    connection.onClose(() => {
      if (step === 'done') return;
      step = 'done';
      resolve(undefined);
    });
    connection.watchIdle(options.timeoutMs, () =>
      step === 'answer'
        ? refuse('challenge_expired', `no challenge answer within ${options.timeoutMs} ms`)
        : refuse('protocol_error', `handshake not completed within ${options.timeoutMs} ms`),
    );
    connection.setHandler({
      message(message: MinerMessage) {
        if (step === 'hello' && message.type === 'hello') return onHello(message);
        if (step === 'answer' && message.type === 'challenge.answer' && hello && challenge) {
          return onAnswer(message.signature, hello.node, challenge);
        }
        const expected = step === 'hello' ? '`hello`' : step === 'answer' ? '`challenge.answer`' : 'nothing';
        return refuse('protocol_error', `expected ${expected} during the handshake, got \`${message.type}\``);
      },
      badFrame(error) {
        refuse('protocol_error', error.message);
      },
    });
  });
}
