import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGguf, type GgufDocument } from './gguf-writer.ts';

const document: GgufDocument = {
  metadata: [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['test.u32', { type: 'uint32', value: 4_000_000_000 }],
    ['test.i32', { type: 'int32', value: -7 }],
    ['test.f32', { type: 'float32', value: 0.5 }],
    ['test.bool', { type: 'bool', value: true }],
    ['test.u64', { type: 'uint64', value: 2n ** 40n }],
    ['test.strings', { type: 'array', itemType: 'string', value: ['a', 'ünï', ''] }],
    ['test.ints', { type: 'array', itemType: 'int32', value: [1, -2, 3] }],
  ],
  tensors: [
    { name: 'a', dims: [3], data: Float32Array.from([1, 2, 3]) },
    { name: 'b', dims: [2, 2], data: Float32Array.from([-1, 0.25, 8, 1e-3]) },
  ],
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gguf-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('encodeGguf', () => {
  it('writes a GGUF v3 file that an independent reader parses back', async () => {
    const bytes = encodeGguf(document);
    const path = join(dir, 'doc.gguf');
    await writeFile(path, bytes);
    const info = await readGgufFileInfo(path, { logWarnings: false });
    expect(info.version).toBe(3);
    expect(Number(info.tensorCount)).toBe(2);
    const meta = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(meta.general?.architecture).toBe('llama');
    expect(meta.test).toMatchObject({ u32: 4_000_000_000, i32: -7, f32: 0.5, bool: true });
    expect(BigInt(meta.test?.u64 as bigint)).toBe(2n ** 40n);
    expect(meta.test?.strings).toEqual(['a', 'ünï', '']);
    expect(meta.test?.ints).toEqual([1, -2, 3]);
    const tensors = info.tensorInfo ?? [];
    expect(tensors.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType, Number(t.offset)])).toEqual([
      ['a', [3], 0, 0],
      ['b', [2, 2], 0, 32],
    ]);
  });

  it('stores tensor data little-endian at 32-byte aligned offsets', () => {
    const bytes = encodeGguf(document);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('GGUF');
    expect(view.getUint32(4, true)).toBe(3);
    expect(bytes.length % 32).toBe(0);
    // The data section is the last 64 bytes: tensor a (12 bytes padded to 32), then b (16 padded to 32).
    const data = bytes.length - 64;
    expect(data % 32).toBe(0);
    expect([0, 1, 2].map((i) => view.getFloat32(data + 4 * i, true))).toEqual([1, 2, 3]);
    expect(view.getFloat32(data + 32 + 4, true)).toBe(0.25);
  });

  it('gives the same bytes for the same document', () => {
    expect(Buffer.from(encodeGguf(document)).equals(Buffer.from(encodeGguf(document)))).toBe(true);
  });

  it('writes a non-default alignment into the metadata', async () => {
    const path = join(dir, 'aligned.gguf');
    await writeFile(path, encodeGguf({ ...document, alignment: 64 }));
    const info = await readGgufFileInfo(path, { logWarnings: false });
    expect(info.metadata.general?.alignment).toBe(64);
    expect(info.tensorInfo?.map((t) => Number(t.offset))).toEqual([0, 64]);
  });

  it('refuses tensors whose data does not fit their dims', () => {
    const tensor = { name: 't', dims: [2, 2], data: new Float32Array(3) };
    expect(() => encodeGguf({ metadata: [], tensors: [tensor] })).toThrow(/3 values for dims 2x2/);
  });

  it('refuses empty, zero, fractional and five-dimensional shapes', () => {
    for (const dims of [[], [0], [1.5], [1, 1, 1, 1, 1]]) {
      const tensor = { name: 't', dims, data: new Float32Array(1) };
      expect(() => encodeGguf({ metadata: [], tensors: [tensor] })).toThrow(/dims must be/);
    }
  });

  it('refuses duplicate tensor names and bad alignments', () => {
    const tensor = { name: 't', dims: [1], data: new Float32Array(1) };
    expect(() => encodeGguf({ metadata: [], tensors: [tensor, tensor] })).toThrow(/duplicate tensor t/);
    for (const alignment of [0, 12, -32, 1.5]) {
      expect(() => encodeGguf({ metadata: [], tensors: [], alignment })).toThrow(/alignment/);
    }
  });
});
