import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from './codec.ts';
import { CHALLENGE_TTL_MS, checkChallengeAnswer, createChallenge, signChallenge } from './handshake-auth.ts';

const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const;
const node = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const NOW = 1_700_000_000_000;

describe('handshake challenge', () => {
  it('creates a fresh, valid challenge message', () => {
    const a = createChallenge('router-1', NOW);
    const b = createChallenge('router-1', NOW);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.expiresAt - a.issuedAt).toBe(CHALLENGE_TTL_MS);
    expect(decodeMessage(JSON.stringify(a))).toEqual({ ok: true, message: a });
  });

  it('admits the node that signed the answer in time', async () => {
    const challenge = createChallenge('router-1', NOW);
    const signature = await signChallenge(node, domain, challenge);
    expect(
      await checkChallengeAnswer(domain, challenge, node.address, signature, NOW + 1000),
    ).toBeUndefined();
  });

  it('refuses an answer signed by another key', async () => {
    const challenge = createChallenge('router-1', NOW);
    const signature = await signChallenge(other, domain, challenge);
    const error = await checkChallengeAnswer(domain, challenge, node.address, signature, NOW);
    expect(error?.code).toBe('bad_signature');
    expect(error?.retryable).toBe(false);
  });

  it('refuses an answer replayed to another router, nonce, chain or registry', async () => {
    const challenge = createChallenge('router-1', NOW);
    const signature = await signChallenge(node, domain, challenge);
    const replays = [
      { domain, challenge: { ...challenge, routerId: 'router-2' } },
      { domain, challenge: { ...createChallenge('router-1', NOW), expiresAt: challenge.expiresAt } },
      { domain, challenge: { ...challenge, expiresAt: challenge.expiresAt + 1 } },
      { domain: { ...domain, chainId: 1 }, challenge },
      { domain: { ...domain, verifyingContract: other.address }, challenge },
    ];
    for (const replay of replays) {
      const error = await checkChallengeAnswer(replay.domain, replay.challenge, node.address, signature, NOW);
      expect(error?.code).toBe('bad_signature');
    }
  });

  it('refuses a late answer as challenge_expired (retryable: reconnect)', async () => {
    const challenge = createChallenge('router-1', NOW);
    const signature = await signChallenge(node, domain, challenge);
    const error = await checkChallengeAnswer(
      domain,
      challenge,
      node.address,
      signature,
      challenge.expiresAt + 1,
    );
    expect(error?.code).toBe('challenge_expired');
    expect(error?.retryable).toBe(true);
  });

  it('refuses malformed and malleable signatures without throwing', async () => {
    const challenge = createChallenge('router-1', NOW);
    const signature = await signChallenge(node, domain, challenge);
    // The high-s twin of a valid signature recovers the same key; OpenZeppelin refuses it, so do we.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const v = signature.slice(130) === '1b' ? '1c' : '1b';
    const twin = `${signature.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${v}` as const;
    for (const bad of [twin, `0x${'00'.repeat(65)}`, `0x${'ff'.repeat(65)}`, '0x', '0x1234'] as const) {
      const error = await checkChallengeAnswer(domain, challenge, node.address, bad as `0x${string}`, NOW);
      expect(error?.code, bad).toBe('bad_signature');
    }
  });
});
