import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { secp256k1Backend, secp256k1Backends } from './secp256k1.ts';

const seeded = (label: string, i: number) => createHash('sha256').update(`${label} ${i}`).digest();

describe('secp256k1 backends', () => {
  it('loads the native addon where a prebuild exists', () => {
    if (process.platform === 'linux' && process.arch === 'x64') {
      expect(secp256k1Backends.native).toBeDefined();
      expect(secp256k1Backend).toBe(process.env.NEURINO_SECP256K1 === 'wasm' ? 'wasm' : 'native');
    }
  });

  it('signs and recovers identically in both builds', () => {
    const native = secp256k1Backends.native;
    if (native === undefined) return;
    // Seeded digests, plus the edges: zero, n − 1, and digests ≥ n (the nonce must come from digest mod n).
    const edges = ['00'.repeat(32), `${'ff'.repeat(15)}febaaedce6af48a03bbfd25e8cd0364140`, 'ff'.repeat(32)];
    const digests = [
      ...Array.from({ length: 50 }, (_, i) => seeded('digest', i)),
      ...edges.map((h) => Buffer.from(h, 'hex')),
    ];
    for (const [i, digest] of digests.entries()) {
      const key = seeded('key', i);
      const a = native.sign(digest, key);
      const b = secp256k1Backends.wasm.sign(digest, key);
      expect(Buffer.from(a.signature).equals(Buffer.from(b.signature))).toBe(true);
      expect(a.recoveryId).toBe(b.recoveryId);
      const fromNative = native.recover(digest, a.signature, a.recoveryId);
      const fromWasm = secp256k1Backends.wasm.recover(digest, a.signature, a.recoveryId);
      expect(fromNative).not.toBeNull();
      expect(Buffer.from(fromNative as Uint8Array).equals(Buffer.from(fromWasm as Uint8Array))).toBe(true);
    }
  });

  it('recovers nothing from a signature that is not one, in either build', () => {
    const digest = seeded('digest', 0);
    const zero = new Uint8Array(64);
    const overOrder = new Uint8Array(64).fill(0xff);
    for (const backend of [secp256k1Backends.wasm, secp256k1Backends.native]) {
      if (backend === undefined) continue;
      expect(backend.recover(digest, zero, 0)).toBeNull();
      expect(backend.recover(digest, overOrder, 1)).toBeNull();
    }
  });
});
