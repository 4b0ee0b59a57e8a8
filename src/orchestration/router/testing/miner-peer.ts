// A miner's side of the protocol, scripted by tests: real frames (src/protocol codec), real signatures
// (dev accounts), over a real WebSocket. It does what a test tells it, including misbehaving.

import { performance } from 'node:perf_hooks';
import type { Hex, LocalAccount } from 'viem';
import { decodeRouterMessage, encodeMessage } from '../../../protocol/codec.ts';
import type { ProtocolDomain } from '../../../protocol/eip712-domain.ts';
import { signChallenge } from '../../../protocol/handshake-auth.ts';
import { receiptFor } from '../../../protocol/job-receipt.ts';
import type { Hello, Refused, Welcome } from '../../../protocol/messages/handshake.ts';
import type { MinerMessage, RouterMessage } from '../../../protocol/messages/index.ts';
import type { JobAssign, JobResult, StreamPiece } from '../../../protocol/messages/jobs.ts';
import type { Capabilities } from '../../../protocol/messages/node-state.ts';
import { resultHash, signReceipt } from '../../../protocol/receipt.ts';
import { computeUnits } from '../../../protocol/units.ts';
import { PROTOCOL_VERSION } from '../../../protocol/version.ts';
import { type ClientSocket, dial } from './ws-loopback.ts';

export interface MinerPeerOptions {
  url: string;
  account: LocalAccount;
  /** Receipts and challenge answers are signed in this domain. */
  domain: ProtocolDomain;
  /** Fields of `hello` to override (version, minVersion, node). */
  hello?: Partial<Omit<Hello, 'type'>>;
  /** Sign the challenge with another key (an impostor). */
  challengeSigner?: LocalAccount;
}

type RouterMessageOf<T extends RouterMessage['type']> = Extract<RouterMessage, { type: T }>;

export function testCapabilities(overrides: Partial<Omit<Capabilities, 'type'>> = {}): Capabilities {
  return {
    type: 'capabilities',
    gpus: [],
    cpu: { model: 'test cpu', cores: 2 },
    ramMiB: 8_192,
    efficiency: 10,
    slots: { total: 2, free: 2 },
    warmPods: [],
    runtimes: ['llama-cpp'],
    ...overrides,
  };
}

export interface FinishOptions {
  usage?: { inputTokens: number; outputTokens: number };
  /** Default: the time since the assignment arrived, as a real miner meters it. */
  gpuMs?: number;
  vramMiB?: number;
  /** Sign the receipt with this key instead of the node's (a forged result). */
  signer?: LocalAccount;
  /** Change the signed result before sending it (a tampered result). */
  tamper?: (result: JobResult) => JobResult;
}

export class MinerPeer {
  readonly socket: ClientSocket;
  readonly options: MinerPeerOptions;
  /** Every frame received, in order. */
  readonly received: RouterMessage[] = [];
  /** Frames from the router that failed to decode (a router bug; tests assert this stays empty). */
  readonly badFrames: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #unread: RouterMessage[] = [];
  /** When each assignment arrived (performance.now()), by attempt id: what an honest miner meters from. */
  readonly #assignedAt = new Map<Hex, number>();
  /** Attempts assigned and not yet answered with a result or error: the slots its heartbeats say are busy. */
  readonly #running = new Set<Hex>();
  #slotsTotal = 0;
  #waiters: Array<{ accept: (m: RouterMessage) => boolean; resolve: (m: RouterMessage) => void }> = [];
  #heartbeat: NodeJS.Timeout | undefined;

  private constructor(socket: ClientSocket, options: MinerPeerOptions) {
    this.socket = socket;
    this.options = options;
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.stopHeartbeats();
        resolve({ code, reason: reason.toString() });
      });
    });
    socket.on('error', () => {});
    socket.on('message', (data) => {
      const decoded = decodeRouterMessage(data);
      if (!decoded.ok) {
        this.badFrames.push(decoded.error.message);
        return;
      }
      this.received.push(decoded.message);
      if (decoded.message.type === 'job.assign') {
        this.#assignedAt.set(decoded.message.attemptId, performance.now());
        this.#running.add(decoded.message.attemptId);
      }
      const waiter = this.#waiters.find((w) => w.accept(decoded.message));
      if (waiter === undefined) this.#unread.push(decoded.message);
      else {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(decoded.message);
      }
    });
  }

  /** Opens the socket without saying anything. */
  static open(options: MinerPeerOptions): Promise<MinerPeer> {
    const socket = dial(options.url);
    const peer = new MinerPeer(socket, options);
    return new Promise((resolve, reject) => {
      socket.on('open', () => resolve(peer));
      socket.on('error', reject);
    });
  }

  /** Opens, passes the handshake (throws when refused) and announces capabilities. */
  static async join(
    options: MinerPeerOptions,
    capabilities: Capabilities = testCapabilities(),
  ): Promise<MinerPeer> {
    const peer = await MinerPeer.open(options);
    const answer = await peer.handshake();
    if (answer.type === 'refused') throw new Error(`refused: ${answer.code}: ${answer.reason}`);
    peer.send(capabilities);
    return peer;
  }

  get node(): Hex {
    return this.options.account.address;
  }

  /** hello → challenge → signed answer; resolves with `welcome` or `refused`. */
  async handshake(): Promise<Welcome | Refused> {
    this.send({
      type: 'hello',
      version: PROTOCOL_VERSION,
      node: this.options.account.address,
      software: { neurino: '0.1.0-test', node: process.version },
      ...this.options.hello,
    });
    const first = await this.nextOf(['challenge', 'refused']);
    if (first.type === 'refused') return first;
    if (first.type !== 'challenge') throw new Error(`expected a challenge, got ${first.type}`);
    const signer = this.options.challengeSigner ?? this.options.account;
    this.send({
      type: 'challenge.answer',
      signature: await signChallenge(signer, this.options.domain, first),
    });
    const answer = await this.nextOf(['welcome', 'refused']);
    return answer as Welcome | Refused;
  }

  send(message: MinerMessage): void {
    if (message.type === 'capabilities') this.#slotsTotal = message.slots.total;
    if (message.type === 'job.result' || message.type === 'job.error')
      this.#running.delete(message.attemptId);
    this.socket.send(encodeMessage(message));
  }

  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** The next unread frame of this type (waits for it). */
  next<T extends RouterMessage['type']>(type: T, accept: (m: RouterMessageOf<T>) => boolean = () => true) {
    return this.nextOf([type], (m) => accept(m as RouterMessageOf<T>)) as Promise<RouterMessageOf<T>>;
  }

  nextOf(
    types: RouterMessage['type'][],
    accept: (m: RouterMessage) => boolean = () => true,
  ): Promise<RouterMessage> {
    const matches = (m: RouterMessage) => types.includes(m.type) && accept(m);
    const index = this.#unread.findIndex(matches);
    if (index >= 0) return Promise.resolve(this.#unread.splice(index, 1)[0] as RouterMessage);
    return new Promise((resolve) => this.#waiters.push({ accept: matches, resolve }));
  }

  /** Default: its slots less the attempts it has not answered, as a real miner counts them. */
  heartbeat(slotsFree = Math.max(0, this.#slotsTotal - this.#running.size)): void {
    this.send({ type: 'heartbeat', at: Date.now(), slotsFree, load: 0 });
  }

  startHeartbeats(everyMs: number): void {
    this.stopHeartbeats();
    this.#heartbeat = setInterval(() => this.heartbeat(), everyMs);
  }

  stopHeartbeats(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  accept(assign: JobAssign): void {
    this.send({ type: 'job.accepted', attemptId: assign.attemptId });
  }

  /** A piece of streamed text; `extra` names its choice (past the first) and carries its logprobs. */
  chunk(assign: JobAssign, seq: number, delta: string, extra: Omit<StreamPiece, 'delta'> = {}): void {
    this.send({ type: 'job.chunk', attemptId: assign.attemptId, seq, delta, ...extra });
  }

  /** A `job.error`; `slotsFree` as a real miner's refusal carries it (it took no slot for the attempt). */
  fail(
    assign: JobAssign,
    code: string,
    message: string,
    retryable: boolean,
    slotsFree?: number,
    retryAfterMs?: number,
  ): void {
    this.send({
      type: 'job.error',
      attemptId: assign.attemptId,
      code,
      message,
      retryable,
      ...(slotsFree === undefined ? {} : { slotsFree }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }

  /** A `job.result` with a receipt signed as a real miner signs it (or by `signer`, to forge). */
  async result(assign: JobAssign, output: unknown, options: FinishOptions = {}): Promise<JobResult> {
    const assignedAt = this.#assignedAt.get(assign.attemptId) ?? performance.now();
    this.#assignedAt.delete(assign.attemptId);
    const gpuMs = options.gpuMs ?? Math.max(1, Math.ceil(performance.now() - assignedAt));
    const vramMiB = options.vramMiB ?? 512;
    const finishedAt = Date.now();
    const metering = {
      attemptId: assign.attemptId,
      usage: options.usage ?? { inputTokens: 3, outputTokens: 5 },
      gpuMs,
      vramMiB,
      computeUnits: computeUnits(gpuMs, vramMiB),
      resultHash: resultHash(output),
      startedAt: finishedAt - gpuMs,
      finishedAt,
    };
    const receipt = receiptFor(assign, metering, this.options.account.address);
    const signature = await signReceipt(options.signer ?? this.options.account, this.options.domain, receipt);
    const signed: JobResult = { type: 'job.result', output, signature, ...metering };
    const result = options.tamper === undefined ? signed : options.tamper(signed);
    this.send(result);
    return result;
  }

  /** Serves every assignment with `handle` (accept and answer, or misbehave). */
  serve(handle: (assign: JobAssign) => unknown): void {
    const loop = async () => {
      for (;;) {
        const assign = await this.next('job.assign');
        void Promise.resolve(handle(assign)).catch(() => {});
      }
    };
    void loop();
  }

  close(): void {
    this.stopHeartbeats();
    this.socket.close(1000, 'bye');
  }

  /** Drops the TCP connection without a closing handshake, like a crashed miner. */
  terminate(): void {
    this.stopHeartbeats();
    this.socket.terminate();
  }
}
