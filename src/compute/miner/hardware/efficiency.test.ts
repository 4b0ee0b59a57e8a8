import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../../protocol/testing/capture-logger.ts';
import { measureEfficiency } from './efficiency.ts';
import type { LlamaBenchmarkOptions, LlamaBenchmarkResult } from './llama-benchmark.ts';
import type { Hardware } from './probe.ts';

const cpuNode: Hardware = { gpus: [], cpu: { model: 'test cpu', cores: 2 }, ramMiB: 4096, warnings: [] };
const gpuNode: Hardware = { ...cpuNode, gpus: [{ name: 'NVIDIA L4', vramMiB: 23_034 }] };

function fakeBenchmark(result: Partial<LlamaBenchmarkResult>) {
  const calls: LlamaBenchmarkOptions[] = [];
  const run = async (options: LlamaBenchmarkOptions): Promise<LlamaBenchmarkResult> => {
    calls.push(options);
    return {
      gflops: 900,
      device: 'cuda',
      deviceNames: ['NVIDIA L4'],
      repetitions: 40,
      medianMs: 1.5,
      decodeTokensPerSecond: 2_400,
      ...result,
    };
  };
  return { run, calls };
}

describe('measureEfficiency', () => {
  it('measures a GPU node on its GPU, with the threads of its pods, and says where', async () => {
    const { logger, lines } = captureLogger();
    const benchmark = fakeBenchmark({});
    const efficiency = await measureEfficiency({
      hardware: gpuNode,
      threads: 3,
      log: logger,
      llamaBenchmark: benchmark.run,
    });
    expect(efficiency).toBe(900);
    expect(benchmark.calls).toEqual([{ gpu: 'auto', threads: 3 }]);
    expect(lines.at(-1)?.msg).toBe('self-benchmark: 900 GFLOP/s with llama.cpp on cuda (NVIDIA L4)');
  });

  it('measures a CPU node on the CPU', async () => {
    const { logger } = captureLogger();
    const benchmark = fakeBenchmark({ device: 'cpu', deviceNames: [], gflops: 60 });
    expect(
      await measureEfficiency({ hardware: cpuNode, threads: 1, log: logger, llamaBenchmark: benchmark.run }),
    ).toBe(60);
    expect(benchmark.calls).toEqual([{ gpu: false, threads: 1 }]);
  });

  it('warns when nvidia-smi lists a GPU that llama.cpp cannot use', async () => {
    const { logger, lines } = captureLogger();
    const benchmark = fakeBenchmark({ device: 'cpu', deviceNames: [], gflops: 60 });
    expect(
      await measureEfficiency({ hardware: gpuNode, threads: 1, log: logger, llamaBenchmark: benchmark.run }),
    ).toBe(60);
    expect(lines.at(-1)).toMatchObject({ level: 40, efficiency: 60, device: 'cpu' });
    expect(lines.at(-1)?.msg).toContain('llama.cpp found no GPU backend');
  });

  it('falls back to the JavaScript benchmark, with a warning, when llama.cpp cannot run', async () => {
    const { logger, lines } = captureLogger();
    const failing = async (): Promise<LlamaBenchmarkResult> => {
      throw new Error('no prebuilt llama.cpp binary for this platform');
    };
    const efficiency = await measureEfficiency({
      hardware: cpuNode,
      threads: 1,
      log: logger,
      llamaBenchmark: failing,
    });
    expect(efficiency).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatchObject({
      level: 40,
      efficiency,
      err: { message: 'no prebuilt llama.cpp binary for this platform' },
    });
    expect(lines.at(-1)?.msg).toContain('JavaScript benchmark');
  });
});
