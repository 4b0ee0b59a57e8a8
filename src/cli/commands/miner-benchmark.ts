// `neurino miner benchmark`: the self-benchmark a miner runs at start, alone, so an operator sees the
// figure the router will rank the node by, and can compare settings such as --threads before serving;
// with the memory its pods would share.
import { Command } from 'commander';
import { deviceLabel, runLlamaBenchmark } from '../../compute/miner/hardware/llama-benchmark.ts';
import { probeHardware } from '../../compute/miner/hardware/probe.ts';
import { defaultPodMemory } from '../../compute/miner/pod-residency.ts';
import { parsePositiveInt } from '../options.ts';

interface BenchmarkOptions {
  threads: number;
  cpu?: boolean;
  json?: boolean;
}

export function minerBenchmarkCommand(): Command {
  return new Command('benchmark')
    .description('measure this machine as `neurino miner` does at start: the efficiency it announces')
    .option('--threads <n>', 'CPU threads, as `neurino miner --threads`', parsePositiveInt, 1)
    .option('--cpu', 'measure the CPU even when a GPU is found')
    .option('--json', 'print the result as JSON')
    .action(async (options: BenchmarkOptions) => {
      const hardware = await probeHardware();
      for (const warning of hardware.warnings) console.error(`hardware probe: ${warning}`);
      const gpu = options.cpu !== true && hardware.gpus.length > 0 ? 'auto' : false;
      const result = await runLlamaBenchmark({ gpu, threads: options.threads });
      const memory = defaultPodMemory(hardware);
      if (options.json === true) {
        console.log(JSON.stringify({ threads: options.threads, ...result, podMemoryMiB: memory.budgetMiB }));
        return;
      }
      const threads = `${options.threads} thread${options.threads === 1 ? '' : 's'}`;
      console.log(`llama.cpp on ${deviceLabel(result)}, ${threads}`);
      console.log(
        `  prompt evaluation  ${result.gflops} GFLOP/s   the efficiency a miner announces (median of ${result.repetitions} prompts, ${round(result.medianMs)} ms each)`,
      );
      console.log(
        `  generation         ${result.decodeTokensPerSecond} tokens/s   one token at a time on a small model`,
      );
      console.log(
        `  pod memory         ${memory.budgetMiB} MiB   what its llama.cpp pods may hold at once: ${memory.source} (--memory-mib)`,
      );
      if (gpu !== false && result.device === 'cpu')
        console.log('nvidia-smi lists a GPU, but llama.cpp found no GPU backend: the figures are the CPU');
    });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
