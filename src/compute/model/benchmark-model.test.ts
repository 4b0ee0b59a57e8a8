import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCHMARK_MODEL_SHAPE, buildBenchmarkModel, layerWeightsPerToken } from './benchmark-model.ts';

const dir = await mkdtemp(join(tmpdir(), 'neurino-bench-model-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const small = { embedding: 32, layers: 2, heads: 4, feedForward: 48, contextLength: 64 };

describe('buildBenchmarkModel', () => {
  it('gives the same bytes every time', () => {
    expect(sha256(buildBenchmarkModel(small))).toBe(sha256(buildBenchmarkModel(small)));
    expect(sha256(buildBenchmarkModel(small))).not.toBe(sha256(buildBenchmarkModel({ ...small, layers: 3 })));
  });

  it('is a llama model of the shape asked for, whose layer weights are what the benchmark counts', async () => {
    const path = join(dir, 'bench.gguf');
    await writeFile(path, buildBenchmarkModel(BENCHMARK_MODEL_SHAPE));
    const info = await readGgufFileInfo(path);
    const llama = info.metadata.llama as Record<string, unknown>;
    expect(info.metadata.general.architecture).toBe('llama');
    expect(llama.embedding_length).toBe(BENCHMARK_MODEL_SHAPE.embedding);
    expect(llama.block_count).toBe(BENCHMARK_MODEL_SHAPE.layers);
    const layerWeights = (info.fullTensorInfo ?? [])
      .filter((tensor) => tensor.name.startsWith('blk.') && tensor.dimensions.length === 2)
      .reduce((sum, tensor) => sum + tensor.dimensions.reduce((a: number, b) => a * Number(b), 1), 0);
    expect(layerWeights).toBe(layerWeightsPerToken(BENCHMARK_MODEL_SHAPE));
  });

  it('refuses a shape whose heads do not divide the embedding', () => {
    expect(() => buildBenchmarkModel({ ...small, heads: 5 })).toThrow(RangeError);
  });
});
