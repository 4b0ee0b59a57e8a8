import type { Address, Hex, LocalAccount } from 'viem';
import { eip712Domain, isTypedDataSignedBy, type ProtocolDomain } from './eip712-domain.ts';
import { FatalError, type NeurinoError, RetryableError } from './errors.ts';
import { randomBytes32 } from './ids.ts';
import type { Challenge } from './messages/handshake.ts';

/** How long a miner has to answer a challenge. */
export const CHALLENGE_TTL_MS = 30_000;

/**
 * What a miner signs to be admitted: binds the router's fresh nonce, the node's own address, the router
 * it talks to and the expiry, so an answer cannot be replayed to another router, for another node, or
 * later. Router and miner use the Settlement contract's domain (chain id + Settlement address) by default.
 */
export const HANDSHAKE_TYPES = {
  Handshake: [
    { name: 'nonce', type: 'bytes32' },
    { name: 'node', type: 'address' },
    { name: 'routerId', type: 'string' },
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

export function handshakeTypedData(domain: ProtocolDomain, challenge: Challenge, node: Address) {
  return {
    domain: eip712Domain(domain),
    types: HANDSHAKE_TYPES,
    primaryType: 'Handshake' as const,
    message: {
      nonce: challenge.nonce,
      node,
      routerId: challenge.routerId,
      expiresAt: BigInt(challenge.expiresAt),
    },
  };
}

/** Router side: a fresh challenge. */
export function createChallenge(routerId: string, now = Date.now(), ttlMs = CHALLENGE_TTL_MS): Challenge {
  return { type: 'challenge', nonce: randomBytes32(), issuedAt: now, expiresAt: now + ttlMs, routerId };
}

/** Miner side: the `challenge.answer` signature. */
export function signChallenge(
  account: LocalAccount,
  domain: ProtocolDomain,
  challenge: Challenge,
): Promise<Hex> {
  return account.signTypedData(handshakeTypedData(domain, challenge, account.address));
}

/**
 * Router side: undefined when the answer proves `node` holds its key in time, else the refusal to send
 * (`challenge_expired` or `bad_signature`). On-chain checks (registered, staked, jailed) come after.
 */
export async function checkChallengeAnswer(
  domain: ProtocolDomain,
  challenge: Challenge,
  node: Address,
  signature: Hex,
  now = Date.now(),
): Promise<NeurinoError | undefined> {
  if (now > challenge.expiresAt) return new RetryableError('challenge_expired');
  const typedData = { ...handshakeTypedData(domain, challenge, node), signature };
  if (await isTypedDataSignedBy(typedData, node)) return undefined;
  return new FatalError('bad_signature', { message: 'challenge answer is not signed by the node key' });
}
