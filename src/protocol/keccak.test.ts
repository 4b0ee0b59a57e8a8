import { createHash } from 'node:crypto';
import { keccak256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { keccak256Hex, keccakBackend, keccakHashers } from './keccak.ts';

describe('keccak256', () => {
  it('uses the native addon where a prebuild exists', () => {
    if (process.platform === 'linux' && process.arch === 'x64' && process.env.NEURINO_KECCAK !== 'js') {
      expect(keccakBackend).toBe('native');
    }
  });

  it('gives viem’s answer for every length around the block size, in both implementations', () => {
    for (let length = 0; length <= 300; length++) {
      const data = createHash('sha512').update(String(length)).digest();
      const input = new Uint8Array(
        Buffer.concat(Array.from({ length: Math.ceil(length / 64) + 1 }, () => data)).subarray(0, length),
      );
      const expected = keccak256(input);
      expect(keccak256Hex(input)).toBe(expected);
      expect(Buffer.from(keccakHashers.js(input)).toString('hex')).toBe(expected.slice(2));
      if (keccakHashers.native)
        expect(Buffer.from(keccakHashers.native(input)).toString('hex')).toBe(expected.slice(2));
    }
  });

  it('hashes a view of a larger buffer, not the whole buffer', () => {
    const whole = new Uint8Array(100).map((_, i) => i);
    const view = whole.subarray(10, 42);
    expect(keccak256Hex(view)).toBe(keccak256(Uint8Array.from(view)));
  });
});
