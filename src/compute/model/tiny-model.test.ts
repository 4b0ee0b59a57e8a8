import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from './seeded-random.ts';
import {
  buildTinyModel,
  ensureTinyModel,
  TINY_MODEL_NAME,
  TINY_MODEL_SHAPE,
  tinyModelFileName,
  writeTinyModel,
} from './tiny-model.ts';

// Pinned so that any change to the generator, and any platform difference, shows up here. Change it only
// on purpose: validators and pod specs refer to the model by this digest.
const DEFAULT_SEED_SHA256 = '20ce1892edb31ae92b6dbc29a7d31bf0e3a6b09fcf44e5e795955fa5d4776016';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tiny-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('tiny model', () => {
  it('is byte-identical for the same seed and differs for another', async () => {
    const a = await writeTinyModel(join(dir, 'a.gguf'));
    const b = await writeTinyModel(join(dir, 'b.gguf'), { seed: 1 });
    const c = await writeTinyModel(join(dir, 'c.gguf'), { seed: 2 });
    expect(a.sha256).toBe(DEFAULT_SEED_SHA256);
    expect(sha256(await readFile(a.path))).toBe(a.sha256);
    expect(b.sha256).toBe(a.sha256);
    expect(c.sha256).not.toBe(a.sha256);
    expect(c.bytes).toBe(a.bytes);
    expect((await stat(a.path)).size).toBe(a.bytes);
  });

  it('describes a llama model with the documented shape, vocabulary and chat template', async () => {
    const { path } = await writeTinyModel(join(dir, 'shape.gguf'));
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const meta = info.metadata;
    expect(meta.general.architecture).toBe('llama');
    expect(meta.general.name).toBe(TINY_MODEL_NAME);
    const llama = info.architectureMetadata;
    expect(llama.embedding_length).toBe(TINY_MODEL_SHAPE.embedding);
    expect(llama.block_count).toBe(TINY_MODEL_SHAPE.layers);
    expect(llama.attention?.head_count).toBe(TINY_MODEL_SHAPE.heads);
    expect(llama.feed_forward_length).toBe(TINY_MODEL_SHAPE.feedForward);
    expect(llama.context_length).toBe(TINY_MODEL_SHAPE.contextLength);
    const tokenizer = meta.tokenizer;
    expect(tokenizer.ggml.model).toBe('llama');
    const tokens = tokenizer.ggml.tokens;
    expect(tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(tokens).toContain('<0x0A>');
    expect(tokens).toContain('<|im_start|>');
    expect(tokens).toContain('<|im_end|>');
    expect(tokenizer.ggml.token_type?.filter((t) => t === 6)).toHaveLength(256);
    expect(tokenizer.ggml.add_space_prefix).toBe(false);
    expect(tokenizer.chat_template).toContain('<|im_start|>');
    expect(info.tensorInfo?.every((t) => t.ggmlType === 0)).toBe(true);
    expect(info.tensorInfo?.find((t) => t.name === 'token_embd.weight')?.dimensions.map(Number)).toEqual([
      TINY_MODEL_SHAPE.embedding,
      tokens.length,
    ]);
  });

  it('refuses seeds that are not uint32', () => {
    for (const seed of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => buildTinyModel({ seed })).toThrow(/seed must be a uint32/);
    }
  });
});

describe('ensureTinyModel', () => {
  it('creates the file once, keeps it while it matches and rewrites it when it does not', async () => {
    const target = join(dir, 'ensure');
    const first = await ensureTinyModel(target);
    expect(first).toMatchObject({ created: true, sha256: DEFAULT_SEED_SHA256 });
    expect(first.path).toBe(join(target, 'neurino-tiny.gguf'));
    const second = await ensureTinyModel(target);
    expect(second.created).toBe(false);
    await writeFile(first.path, 'not a model');
    const third = await ensureTinyModel(target);
    expect(third.created).toBe(true);
    expect(sha256(await readFile(first.path))).toBe(DEFAULT_SEED_SHA256);
  });

  it('names other seeds apart so they never overwrite each other', async () => {
    expect(tinyModelFileName()).toBe('neurino-tiny.gguf');
    expect(tinyModelFileName(7)).toBe('neurino-tiny-seed-7.gguf');
    const other = await ensureTinyModel(join(dir, 'seeds'), { seed: 7 });
    expect(other.path).toBe(join(dir, 'seeds', 'neurino-tiny-seed-7.gguf'));
    expect(other.sha256).not.toBe(DEFAULT_SEED_SHA256);
  });
});

describe('seededRandom', () => {
  it('repeats its sequence for a seed and has roughly unit variance', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const values = Array.from({ length: 10_000 }, () => a.normal());
    expect(values.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.normal()));
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    const variance = values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(variance).toBeGreaterThan(0.9);
    expect(variance).toBeLessThan(1.1);
  });
});
