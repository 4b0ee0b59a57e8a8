// Signer recovery through libsecp256k1 (./secp256k1.ts: native addon or WASM), many times faster than the
// pure JavaScript curve; it runs once per job on the router's hot path (every receipt's node signature).
import { type Address, getAddress, type Hex, hexToBytes } from 'viem';
import { keccak256Hex } from './keccak.ts';
import { recoverPublicKey } from './secp256k1.ts';

/**
 * The address whose key made `r,s` over `digest` with recovery bit `yParity`, or undefined when the
 * signature does not recover (an invalid point, r or s out of range).
 */
export function recoverDigestSigner(digest: Hex, r: Hex, s: Hex, yParity: number): Address | undefined {
  if (yParity !== 0 && yParity !== 1) return undefined;
  const signature = new Uint8Array(64);
  signature.set(hexToBytes(r, { size: 32 }), 0);
  signature.set(hexToBytes(s, { size: 32 }), 32);
  const signer = recoverSignerHex(hexToBytes(digest, { size: 32 }), signature, yParity);
  return signer === undefined ? undefined : getAddress(signer);
}

/**
 * The signer's address in lower-case hex (no checksum: the per-job check compares it, nothing shows it),
 * from the 32-byte digest and the 64-byte r ‖ s; undefined when the signature does not recover.
 */
export function recoverSignerHex(digest: Uint8Array, rs: Uint8Array, yParity: 0 | 1): Hex | undefined {
  const publicKey = recoverPublicKey(digest, rs, yParity);
  if (publicKey === null) return undefined;
  // An Ethereum address is the last 20 bytes of keccak256 of the uncompressed key without its 0x04 prefix.
  return `0x${keccak256Hex(publicKey.subarray(1)).slice(-40)}`;
}
