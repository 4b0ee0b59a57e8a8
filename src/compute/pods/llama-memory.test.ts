import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_MODEL_SHAPE, writeTinyModel } from '../model/tiny-model.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';
import { describeLlamaMemory, type LlamaMemoryEstimate } from './llama-memory.ts';

const MIB = 2 ** 20;
/** The tiny model's KV cache per token in f16: keys and values of every layer (as many KV heads as heads). */
const KV_BYTES_PER_TOKEN = TINY_MODEL_SHAPE.layers * 2 * TINY_MODEL_SHAPE.embedding * 2;

describe('llama.cpp pod memory estimate', () => {
  let dir: string;
  let modelPath: string;
  let fileBytes: number;
  const estimate = (options: { slots?: number; contextSize?: number; embeddings?: boolean } = {}) =>
    new LlamaCppRuntime({ modelPath, ...options }).estimateMemory();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llama-memory-'));
    ({ path: modelPath, bytes: fileBytes } = await writeTinyModel(join(dir, 'tiny.gguf')));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('counts the weights, the slots at the training context (at most 4,096) and the embedding context', async () => {
    const memory = await estimate();
    expect(memory).toMatchObject({ device: 'cpu', slots: 2, contextSize: TINY_MODEL_SHAPE.contextLength });
    expect(memory.weightsMiB).toBe(Math.ceil(fileBytes / MIB));
    expect(memory.embeddingMiB).toBeGreaterThan(0);
    expect(memory.totalMiB).toBeGreaterThanOrEqual(
      memory.weightsMiB + memory.contextMiB + memory.embeddingMiB - 2,
    );
    expect(memory.totalMiB).toBeLessThanOrEqual(memory.weightsMiB + memory.contextMiB + memory.embeddingMiB);
  });

  it('grows with the KV cache of each slot: at least its f16 keys and values for every token', async () => {
    const four = await estimate({ slots: 4, contextSize: 4096 });
    const eight = await estimate({ slots: 8, contextSize: 4096 });
    expect(four.contextMiB * MIB).toBeGreaterThanOrEqual(4 * 4096 * KV_BYTES_PER_TOKEN);
    // Four more slots of 4,096 tokens: 8 MiB more of KV cache.
    expect((eight.contextMiB - four.contextMiB) * MIB).toBeGreaterThanOrEqual(4 * 4096 * KV_BYTES_PER_TOKEN);
    expect(eight.weightsMiB).toBe(four.weightsMiB);
    expect(eight.totalMiB).toBeGreaterThan(four.totalMiB);
  });

  it('counts no embedding context for a pod that offers no embeddings', async () => {
    const memory = await estimate({ slots: 1, contextSize: 256, embeddings: false });
    expect(memory.embeddingMiB).toBe(0);
    expect(describeLlamaMemory(memory)).toMatch(/^weights 1 MiB, 1 slot × 256 tokens \d+ MiB$/);
  });

  it('refuses a file that is no GGUF, naming it, before the parsers see it', async () => {
    const path = join(dir, 'broken.gguf');
    await writeFile(path, 'GGUF and then nothing');
    await expect(new LlamaCppRuntime({ modelPath: path }).estimateMemory()).rejects.toMatchObject({
      code: 'pod_load_failed',
      message: expect.stringMatching(/^Cannot read broken\.gguf: not a GGUF file/),
    });
  });

  it('describes a large pod with thousands separated', () => {
    const memory: LlamaMemoryEstimate = {
      device: 'gpu',
      weightsMiB: 4685,
      contextMiB: 1088,
      embeddingMiB: 290,
      totalMiB: 6063,
      slots: 2,
      contextSize: 8192,
    };
    expect(describeLlamaMemory(memory)).toBe(
      'weights 4,685 MiB, 2 slots × 8,192 tokens 1,088 MiB, embeddings 290 MiB',
    );
  });
});
