import { createHash } from 'node:crypto';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podId } from '../../protocol/pod-spec.ts';
import { writeTinyModel } from '../model/tiny-model.ts';
import { MinerError } from './errors.ts';
import { DEFAULT_PRICE_PER_UNIT, describeFile, ggufPodSpec, upstreamPodSpec } from './local-pods.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-pods-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ggufPodSpec', () => {
  it('gives the same pod id for the same file wherever it lies', async () => {
    const a = await writeTinyModel(join(dir, 'a', 'neurino-tiny.gguf'));
    await writeTinyModel(join(dir, 'b', 'neurino-tiny.gguf'));
    const fileA = await describeFile(a.path);
    expect(fileA).toEqual({ fileName: 'neurino-tiny.gguf', sha256: a.sha256, bytes: a.bytes });
    const specA = ggufPodSpec({ name: 'neurino-tiny', ...fileA });
    const specB = ggufPodSpec({
      name: 'neurino-tiny',
      ...(await describeFile(join(dir, 'b', 'neurino-tiny.gguf'))),
    });
    expect(podId(specA)).toBe(podId(specB));
    expect(specA).toMatchObject({
      runtime: 'llama-cpp',
      kinds: ['chat', 'completion', 'embeddings'],
      artifact: { uri: 'neurino-tiny.gguf', sha256: a.sha256 },
      minVramMiB: 1,
      pricePerUnit: DEFAULT_PRICE_PER_UNIT,
    });
  });

  it('meters the weights: memory is the file size in MiB, rounded up', () => {
    const spec = ggufPodSpec({
      name: 'big',
      fileName: 'big.gguf',
      sha256: 'a'.repeat(64),
      bytes: 4.5 * 2 ** 30,
    });
    expect(spec.minVramMiB).toBe(4608);
  });

  it("takes the operator's price and share", () => {
    const spec = ggufPodSpec(
      { name: 'm', fileName: 'm.gguf', sha256: 'b'.repeat(64), bytes: 1 },
      { pricePerUnit: 7n, deployerShareBps: 250 },
    );
    expect(spec).toMatchObject({ pricePerUnit: 7n, deployerShareBps: 250 });
  });

  it('refuses a name the protocol does not allow, and a file it cannot read', async () => {
    expect(() =>
      ggufPodSpec({ name: 'bad name!', fileName: 'x.gguf', sha256: 'c'.repeat(64), bytes: 1 }),
    ).toThrow(MinerError);
    await expect(describeFile(join(dir, 'missing.gguf'))).rejects.toMatchObject({ code: 'invalid_config' });
    await writeFile(join(dir, 'empty.gguf'), '');
    expect((await describeFile(join(dir, 'empty.gguf'))).bytes).toBe(0);
  });
});

describe('describeFile', () => {
  it('hashes a file again only when its size or modification time changed (a reload rereads no model)', async () => {
    const path = join(dir, 'changing.gguf');
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    await writeFile(path, 'first');
    expect((await describeFile(path)).sha256).toBe(sha('first'));
    await writeFile(path, 'again');
    const later = new Date(Date.now() + 5_000);
    await utimes(path, later, later);
    expect((await describeFile(path)).sha256).toBe(sha('again'));
    // Same size and time: taken as the same file, as make and rsync take it.
    await writeFile(path, 'trick');
    await utimes(path, later, later);
    expect((await describeFile(path)).sha256).toBe(sha('again'));
    await writeFile(path, 'longer text');
    expect((await describeFile(path)).sha256).toBe(sha('longer text'));
  });
});

describe('upstreamPodSpec', () => {
  it('names the upstream model and holds the memory the operator declares', () => {
    const spec = upstreamPodSpec({ name: 'meta-llama/Llama-3.1-8B-Instruct', vramMiB: 16_384 });
    expect(spec).toMatchObject({
      runtime: 'openai-upstream',
      options: { model: 'meta-llama/Llama-3.1-8B-Instruct' },
      artifact: { uri: 'openai-upstream:meta-llama/Llama-3.1-8B-Instruct' },
      minVramMiB: 16_384,
    });
    expect(podId(spec)).toBe(
      podId(upstreamPodSpec({ name: 'meta-llama/Llama-3.1-8B-Instruct', vramMiB: 16_384 })),
    );
    expect(podId(spec)).not.toBe(podId(upstreamPodSpec({ name: 'other', vramMiB: 16_384 })));
  });

  it('refuses a model name the protocol does not allow', () => {
    expect(() => upstreamPodSpec({ name: '', vramMiB: 1 })).toThrow(/pod spec/);
  });
});
