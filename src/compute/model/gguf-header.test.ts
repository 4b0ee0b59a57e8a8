import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader } from './gguf-header.ts';
import { buildTinyModel } from './tiny-model.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gguf-header-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

function header(version: number, tensors: bigint, metadata: bigint, extra = 0): Uint8Array {
  const bytes = new Uint8Array(24 + extra);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode('GGUF'));
  view.setUint32(4, version, true);
  view.setBigUint64(8, tensors, true);
  view.setBigUint64(16, metadata, true);
  return bytes;
}

describe('readGgufHeader', () => {
  it('reads the counts of a real file', async () => {
    const { bytes } = buildTinyModel();
    const read = await readGgufHeader(await file('tiny.gguf', bytes));
    expect(read).toEqual({ version: 3, tensorCount: 21, metadataCount: 25, fileBytes: bytes.length });
  });

  it('refuses short files, foreign files and unknown versions', async () => {
    await expect(readGgufHeader(await file('short', 'GGUF'))).rejects.toThrow(/only 4 bytes/);
    await expect(readGgufHeader(await file('png', '\x89PNG and then 24 more bytes..'))).rejects.toThrow(
      /magic/,
    );
    await expect(readGgufHeader(await file('v9', header(9, 0n, 0n)))).rejects.toThrow(/version 9/);
  });

  it('refuses counts the file is too small to hold', async () => {
    await expect(readGgufHeader(await file('huge', header(3, 2n ** 40n, 1n)))).rejects.toThrow(/corrupt/);
    await expect(readGgufHeader(await file('many', header(3, 1n, 100n, 40)))).rejects.toThrow(/corrupt/);
  });

  it('refuses a missing file with the system error', async () => {
    await expect(readGgufHeader(join(dir, 'absent.gguf'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
