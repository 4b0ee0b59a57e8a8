// keccak256 on the per-job path (receipt hashes, result hashes, attempt ids, signer addresses) through the
// native addon of `keccak` where it loads (prebuilt for the common platforms): several times faster than
// the JavaScript implementation viem uses, which remains the fallback. Same function, same bytes.
import { bytesToHex, type Hex, keccak256 as viemKeccak256 } from 'viem';
import { optionalNativeAddon } from './native-addon.ts';

type Hasher = (data: Uint8Array) => Uint8Array;

function nativeHasher(): Hasher | undefined {
  const createHash = optionalNativeAddon<typeof import('keccak')>(
    'keccak/bindings.js',
    process.env.NEURINO_KECCAK === 'js',
  );
  if (createHash === undefined) return undefined;
  return (data) =>
    createHash('keccak256')
      .update(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
      .digest();
}

const jsHasher: Hasher = (data) => viemKeccak256(data, 'bytes');
const native = nativeHasher();
const hasher: Hasher = native ?? jsHasher;

/** Which implementation serves this process; NEURINO_KECCAK=js forces viem's. */
export const keccakBackend: 'native' | 'js' = native === undefined ? 'js' : 'native';

export function keccak256Bytes(data: Uint8Array): Uint8Array {
  return hasher(data);
}

export function keccak256Hex(data: Uint8Array): Hex {
  return bytesToHex(hasher(data));
}

/** Both implementations, for tests that hold them to identical answers. */
export const keccakHashers = { js: jsHasher, native } as const;
