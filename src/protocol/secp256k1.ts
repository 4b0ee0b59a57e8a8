// The secp256k1 operations on the per-job path (a miner signs every receipt, the router recovers the
// node's key from it), through libsecp256k1 in the fastest form this machine loads: the native addon of
// `secp256k1` (prebuilt for the common platforms), else the WASM build of `tiny-secp256k1`. Both are
// libsecp256k1 with RFC 6979 nonces and low-s: identical signatures.
import * as wasm from 'tiny-secp256k1';
import { optionalNativeAddon } from './native-addon.ts';

export interface RecoverableSignature {
  /** r ‖ s, 64 bytes. */
  signature: Uint8Array;
  recoveryId: 0 | 1;
}

interface Backend {
  readonly name: 'native' | 'wasm';
  sign(digest: Uint8Array, privateKey: Uint8Array): RecoverableSignature;
  /** The uncompressed public key (65 bytes), or null when the signature does not recover. */
  recover(digest: Uint8Array, signature: Uint8Array, recoveryId: 0 | 1): Uint8Array | null;
}

const wasmBackend: Backend = {
  name: 'wasm',
  sign(digest, privateKey) {
    const { signature, recoveryId } = wasm.signRecoverable(digest, privateKey);
    return { signature, recoveryId: recoveryId === 1 ? 1 : 0 };
  },
  recover(digest, signature, recoveryId) {
    try {
      return wasm.recover(digest, signature, recoveryId, false);
    } catch {
      // Thrown for r or s out of range: not a signature, so nobody signed it.
      return null;
    }
  },
};

function nativeBackend(): Backend | undefined {
  const addon = optionalNativeAddon<typeof import('secp256k1')>(
    'secp256k1/bindings.js',
    process.env.NEURINO_SECP256K1 === 'wasm',
  );
  if (addon === undefined) return undefined;
  return {
    name: 'native',
    sign(digest, privateKey) {
      const { signature, recid } = addon.ecdsaSign(reducedModN(digest), privateKey);
      return { signature, recoveryId: recid === 1 ? 1 : 0 };
    },
    recover(digest, signature, recoveryId) {
      try {
        return addon.ecdsaRecover(signature, recoveryId, digest, false);
      } catch {
        return null;
      }
    },
  };
}

/** The curve order n. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * The digest mod n. The signature is the same either way, but the RFC 6979 nonce is derived from the
 * digest's bytes: the native addon takes them as given, viem and the WASM build reduce them first. So
 * a digest ≥ n (never a keccak output in practice) would sign differently without this.
 */
function reducedModN(digest: Uint8Array): Uint8Array {
  if (digest[0] !== 0xff) return digest; // n starts with 0xff: anything less is below it
  const value = BigInt(`0x${Buffer.from(digest).toString('hex')}`);
  if (value < N) return digest;
  return Buffer.from((value - N).toString(16).padStart(64, '0'), 'hex');
}

const backend: Backend = nativeBackend() ?? wasmBackend;

/** Which build serves this process ('native' addon or 'wasm'); NEURINO_SECP256K1=wasm forces WASM. */
export const secp256k1Backend: Backend['name'] = backend.name;

export function signDigestRecoverable(digest: Uint8Array, privateKey: Uint8Array): RecoverableSignature {
  return backend.sign(digest, privateKey);
}

export function recoverPublicKey(
  digest: Uint8Array,
  signature: Uint8Array,
  recoveryId: 0 | 1,
): Uint8Array | null {
  return backend.recover(digest, signature, recoveryId);
}

/** Both builds, for tests that hold them to identical answers. */
export const secp256k1Backends = { wasm: wasmBackend, native: nativeBackend() } as const;
