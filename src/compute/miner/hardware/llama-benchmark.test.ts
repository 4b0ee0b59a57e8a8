import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { layerWeightsPerToken } from '../../model/benchmark-model.ts';
import { runLlamaBenchmark } from './llama-benchmark.ts';

const workDir = await mkdtemp(join(tmpdir(), 'neurino-llama-bench-'));
afterAll(() => rm(workDir, { recursive: true, force: true }));

const small = { embedding: 128, layers: 2, heads: 4, feedForward: 256, contextLength: 128 };

const measure = (budgetMs: number) =>
  runLlamaBenchmark({ gpu: false, threads: 1, shape: small, promptTokens: 64, budgetMs, workDir });

describe('runLlamaBenchmark', () => {
  it('measures llama.cpp evaluating a prompt on the CPU, and cleans up its model file', async () => {
    const result = await measure(0);
    expect(result.device).toBe('cpu');
    expect(result.deviceNames).toEqual([]);
    expect(result.repetitions).toBe(3);
    // The figure is the counted work over the median evaluation's time.
    const flops = 2 * layerWeightsPerToken(small) * 64;
    expect(result.gflops).toBeCloseTo(flops / result.medianMs / 1e6, 2);
    expect(result.gflops).toBeGreaterThan(0);
    expect(result.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(await readdir(workDir)).toEqual([]);
  });

  it('keeps evaluating past the minimum of three until its time budget is spent', async () => {
    // One evaluation of this small model takes about a millisecond.
    expect((await measure(100)).repetitions).toBeGreaterThan(3);
  });

  it.each([
    [{ threads: 0 }, /threads/],
    [{ threads: 1.5 }, /threads/],
    [{ threads: 1, promptTokens: 0 }, /promptTokens must be 1\.\.96/],
    // The context keeps room for the decoding after the prompt.
    [{ threads: 1, promptTokens: 97 }, /promptTokens must be 1\.\.96/],
  ])('refuses %o', async (options, message) => {
    await expect(runLlamaBenchmark({ gpu: false, shape: small, workDir, ...options })).rejects.toThrow(
      message,
    );
  });
});
