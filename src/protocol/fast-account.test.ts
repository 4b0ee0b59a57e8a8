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

  it('keeps viem for messages', async () => {
    const key = generatePrivateKey();
    expect(await fastAccount(key).signMessage({ message: 'hi' })).toBe(
      await privateKeyToAccount(key).signMessage({ message: 'hi' }),
    );
  });
});
