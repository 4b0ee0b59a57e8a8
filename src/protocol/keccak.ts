// keccak256 on the per-job path (receipt hashes, result hashes, attempt ids, signer addresses) through the
// native addon of `keccak` where it loads (prebuilt for the common platforms): several times faster than
// the JavaScript implementation viem uses, which remains the fallback. Same function, same bytes.
import { bytesToHex, type Hex, keccak256 as viemKeccak256 } from 'viem';
import { optionalRawBinding } from './native-addon.ts';

type Hasher = (data: Uint8Array) => Uint8Array;

/** The addon's sponge state (keccak's C code), driven directly: its stream wrapper costs more than the hash. */
interface KeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Buffer): void;
  absorbLastFewBits(bits: number): void;
  squeeze(length: number): Buffer;
}

function nativeHasher(): Hasher | undefined {
  const State = optionalRawBinding<new () => KeccakState>('keccak', process.env.NEURINO_KECCAK === 'js');
  if (typeof State !== 'function') return undefined;
  // One state, reset before each use: hashing is synchronous, so calls never interleave.
  const state = new State();
  return (data) => {
    // keccak256: rate 1088 bits, capacity 512, Keccak's original 0x01 padding (not SHA-3's 0x06).
    state.initialize(1088, 512);
    state.absorb(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    state.absorbLastFewBits(0x01);
    return state.squeeze(32);
  };
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
