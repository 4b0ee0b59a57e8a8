import { open } from 'node:fs/promises';

export interface GgufHeader {
  readonly version: number;
  readonly tensorCount: number;
  readonly metadataCount: number;
  readonly fileBytes: number;
}

const HEADER_BYTES = 24;
/** Each tensor info or metadata entry takes at least this many bytes, so counts are bounded by the size. */
const MIN_ENTRY_BYTES = 8;

/**
 * Reads and sanity-checks a GGUF file's fixed header. llama.cpp's and node-llama-cpp's parsers trust the
 * counts in it, so a truncated or foreign file can make them hang or allocate without bound; this
 * refuses such files up front with a readable reason.
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const bytes = new Uint8Array(HEADER_BYTES);
    const { bytesRead } = await file.read(bytes, 0, HEADER_BYTES, 0);
    if (bytesRead < HEADER_BYTES) throw new Error(`not a GGUF file: only ${size} bytes`);
    const view = new DataView(bytes.buffer);
    if (new TextDecoder().decode(bytes.subarray(0, 4)) !== 'GGUF')
      throw new Error('not a GGUF file: bad magic');
    const version = view.getUint32(4, true);
    if (version !== 2 && version !== 3) throw new Error(`unsupported GGUF version ${version}`);
    const tensorCount = view.getBigUint64(8, true);
    const metadataCount = view.getBigUint64(16, true);
    const limit = BigInt(Math.floor(size / MIN_ENTRY_BYTES));
    if (tensorCount > limit || metadataCount > limit) {
      throw new Error(
        `corrupt GGUF header: ${tensorCount} tensors, ${metadataCount} metadata entries in ${size} bytes`,
      );
    }
    return {
      version,
      tensorCount: Number(tensorCount),
      metadataCount: Number(metadataCount),
      fileBytes: size,
    };
  } finally {
    await file.close();
  }
}
