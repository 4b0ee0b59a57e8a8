// `npm run bench`: every benchmark, each printing ours vs a baseline measured side by side in this run.
import { benchGateway, type GatewayBenchOptions } from './gateway.ts';
import { printGatewayBench } from './gateway-print.ts';
import { benchPromptCache, printPromptCacheBench } from './prompt-cache.ts';
import { benchPromptScoring, printPromptScoringBench } from './prompt-scoring.ts';
import { benchQueue, printQueueBench } from './queue.ts';
import { benchScheduler, printSchedulerBench } from './scheduler.ts';
import { benchSettlementGas, printSettlementGas } from './settlement-gas.ts';

const only = process.argv[2];

/** Longer throughput runs (a soak) behind a flag: NEURINO_BENCH_RUN_MS per run, NEURINO_BENCH_ROUNDS. */
function gatewayOptionsFromEnv(): GatewayBenchOptions {
  const positive = (name: string): number | undefined => {
    const text = process.env[name];
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${name} must be a positive integer, got ${text}`);
    return value;
  };
  const runMs = positive('NEURINO_BENCH_RUN_MS');
  const rounds = positive('NEURINO_BENCH_ROUNDS');
  return { ...(runMs === undefined ? {} : { runMs }), ...(rounds === undefined ? {} : { rounds }) };
}

// Checked before anything runs: a typo fails at once, not after the other benchmarks.
const gatewayOptions = gatewayOptionsFromEnv();

if (!only || only === 'settlement') {
  printSettlementGas(await benchSettlementGas());
}

if (!only || only === 'scheduler') {
  printSchedulerBench(await benchScheduler());
}

if (!only || only === 'queue') {
  printQueueBench(await benchQueue());
}

if (!only || only === 'prompt-cache') {
  printPromptCacheBench(await benchPromptCache());
}

if (!only || only === 'prompt-scoring') {
  printPromptScoringBench(await benchPromptScoring());
}

if (!only || only === 'gateway') {
  printGatewayBench(await benchGateway(gatewayOptions));
}
