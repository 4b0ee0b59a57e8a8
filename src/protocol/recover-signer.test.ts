import { type Hex, hashMessage, parseSignature, recoverMessageAddress, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { recoverDigestSigner } from './recover-signer.ts';

describe('recoverDigestSigner', () => {
  it('agrees with viem on random keys and messages', async () => {
    for (let i = 0; i < 20; i++) {
      const account = privateKeyToAccount(generatePrivateKey());
      const message = `neurino ${i} ${Math.random()}`;
      const signature = await account.signMessage({ message });
      const { r, s, yParity } = parseSignature(signature);
      const signer = recoverDigestSigner(hashMessage(message), r, s, yParity);
      expect(signer).toBe(account.address);
      expect(signer).toBe(await recoverMessageAddress({ message, signature }));
    }
  });

  it('names another signer, or none, when anything is tampered with', async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const signature = await account.signMessage({ message: 'pay 1 NEU' });
    const { r, s, yParity } = parseSignature(signature);
    expect(recoverDigestSigner(hashMessage('pay 2 NEU'), r, s, yParity)).not.toBe(account.address);
    expect(recoverDigestSigner(hashMessage('pay 1 NEU'), r, s, 1 - (yParity ?? 0))).not.toBe(account.address);
  });

  it('refuses what cannot be a signature', () => {
    const digest = hashMessage('x');
    const zero = toHex(0n, { size: 32 });
    expect(recoverDigestSigner(digest, zero, zero, 0)).toBeUndefined();
    const order = '0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141' as Hex;
    expect(recoverDigestSigner(digest, order, toHex(1n, { size: 32 }), 0)).toBeUndefined();
    expect(recoverDigestSigner(digest, toHex(1n, { size: 32 }), toHex(1n, { size: 32 }), 2)).toBeUndefined();
  });
});
