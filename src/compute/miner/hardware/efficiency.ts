// The efficiency figure a miner announces: llama.cpp's benchmark where the binding runs, else the
// JavaScript one, which reads far lower and so ranks the node behind every node llama.cpp measured.
import type { Logger } from 'pino';
import { runBenchmark } from './benchmark.ts';
import { deviceLabel, runLlamaBenchmark } from './llama-benchmark.ts';
import type { Hardware } from './probe.ts';

export interface EfficiencyOptions {
  readonly hardware: Hardware;
  /** The pods' llama.cpp threads. */
  readonly threads: number;
  readonly log: Logger;
  /** Default runLlamaBenchmark; a test puts a failing one here. */
  readonly llamaBenchmark?: typeof runLlamaBenchmark;
}

export async function measureEfficiency(options: EfficiencyOptions): Promise<number> {
  const { hardware, threads, log } = options;
  const hasGpu = hardware.gpus.length > 0;
  try {
    const result = await (options.llamaBenchmark ?? runLlamaBenchmark)({
      gpu: hasGpu ? 'auto' : false,
      threads,
    });
    const measured = {
      efficiency: result.gflops,
      device: result.device,
      threads,
      repetitions: result.repetitions,
      medianMs: Math.round(result.medianMs * 100) / 100,
      decodeTokensPerSecond: result.decodeTokensPerSecond,
    };
    if (hasGpu && result.device === 'cpu') {
      log.warn(
        measured,
        'nvidia-smi lists a GPU but llama.cpp found no GPU backend, so the benchmark (and llama-cpp pods) ran on the CPU: check the driver and CUDA libraries',
      );
    } else {
      log.info(measured, `self-benchmark: ${result.gflops} GFLOP/s with llama.cpp on ${deviceLabel(result)}`);
    }
    return result.gflops;
  } catch (error) {
    const fallback = runBenchmark().gflops;
    log.warn(
      { err: error, efficiency: fallback },
      'the llama.cpp self-benchmark failed, so this node announces a JavaScript benchmark figure, which ranks it behind nodes measured with llama.cpp',
    );
    return fallback;
  }
}
