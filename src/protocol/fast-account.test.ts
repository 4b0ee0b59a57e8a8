import { type Hex, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { fastAccount } from './fast-account.ts';

const typedData = {
  domain: { name: 'Neurino', version: '1', chainId: 31337 },
  types: {
    Ping: [
      { name: 'n', type: 'uint256' },
      { name: 'who', type: 'address' },
    ],
  },
  primaryType: 'Ping',
  message: { n: 42n, who: '0x000000000000000000000000000000000000dEaD' },
} as const;

describe('fastAccount', () => {
  it('signs typed data exactly as viem does', async () => {
    for (let i = 0; i < 10; i++) {
      const key = generatePrivateKey();
      const fast = fastAccount(key);
      const reference = privateKeyToAccount(key);
      expect(fast.address).toBe(reference.address);
      const message = { ...typedData.message, n: BigInt(i) };
      expect(await fast.signTypedData({ ...typedData, message })).toBe(
        await reference.signTypedData({ ...typedData, message }),
      );
    }
  });

  it('signs raw digests exactly as viem does', async () => {
    for (let i = 0; i < 20; i++) {
      const key = generatePrivateKey();
      const hash = keccak256(toHex(`digest ${i}`));
      expect(await fastAccount(key).sign({ hash })).toBe(await privateKeyToAccount(key).sign({ hash }));
    }
    // Edge digests: all zeros and all ones are still 32 bytes to sign.
    const key = generatePrivateKey();
    for (const hash of [`0x${'00'.repeat(32)}`, `0x${'ff'.repeat(32)}`] as const) {
      expect(await fastAccount(key).sign({ hash })).toBe(await privateKeyToAccount(key).sign({ hash }));
    }
  });

  it('refuses to sign anything but a 32-byte hash', async () => {
    const account = fastAccount(generatePrivateKey());
    for (const hash of ['0x', `0x${'ab'.repeat(31)}`, `0x${'ab'.repeat(33)}`, `0x${'zz'.repeat(32)}`]) {
      await expect(account.sign({ hash: hash as Hex }), hash).rejects.toThrow(/32-byte hash/);
    }
  });

  it('keeps viem for messages', async () => {
    const key = generatePrivateKey();
    expect(await fastAccount(key).signMessage({ message: 'hi' })).toBe(
      await privateKeyToAccount(key).signMessage({ message: 'hi' }),
    );
  });
});
