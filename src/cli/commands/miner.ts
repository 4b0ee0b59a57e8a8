// `neurino miner`: run a compute node that dials the router and serves a model (or several, `--pods`);
// its on-chain life (`register`, `status`, `add-stake`, `unbond`, `withdraw`) is in miner-stake.ts;
// `neurino miner benchmark` measures the machine.
import { Command, InvalidArgumentError } from 'commander';
import type { Address } from 'viem';
import { createLogger } from '../../application/gateway/logger.ts';
import { probeHardware } from '../../compute/miner/hardware/probe.ts';
import { startMetricsServer } from '../../compute/miner/metrics-server.ts';
import { startMiner } from '../../compute/miner/miner.ts';
import { NodeMetrics } from '../../compute/miner/node-metrics.ts';
import { operatorPod } from '../../compute/miner/operator-pod.ts';
import type { HostedPodConfig } from '../../compute/miner/pod-host.ts';
import type { ChatTemplateName } from '../../compute/pods/chat-templates.ts';
import { addressBook, type ChainOptions, nodeKey, parseStake, withChainOptions } from '../miner-chain.ts';
import { readPodsFile } from '../miner-pods-file.ts';
import {
  chatTemplateFileOption,
  chatTemplateOption,
  MATRYOSHKA_HELP,
  parseAddress,
  parseIntWithin,
  parsePort,
  parsePositiveInt,
  parseWei,
} from '../options.ts';
import { onShutdown, shutdown } from '../shutdown.ts';
import { minerBenchmarkCommand } from './miner-benchmark.ts';
import { minerStakeCommands } from './miner-stake.ts';

interface MinerOptions extends ChainOptions {
  router?: string;
  model?: string;
  modelName?: string;
  chatTemplate?: ChatTemplateName;
  chatTemplateFile?: string;
  matryoshka?: boolean;
  promptCache: boolean;
  upstream?: string;
  upstreamModel?: string;
  upstreamApiKey?: string;
  waitForUpstreamS: number;
  vramMib: number;
  podSpec?: string;
  pods?: string;
  slots: number;
  memoryMib?: number;
  keepAliveS?: number;
  threads: number;
  contextSize?: number;
  pricePerUnit?: bigint;
  registerOnStart?: boolean;
  stake?: bigint;
  operator?: Address;
  retryRefused?: boolean;
  metricsPort?: number;
  metricsHost?: string;
  logLevel: string;
}

export function minerCommand(): Command {
  const command = withChainOptions(
    new Command('miner')
      .description('run a compute node: dial the router and serve a model (outbound only)')
      // `miner register --stake N`: options after the subcommand belong to it, not to `miner`.
      .enablePositionalOptions(),
  )
    .option('--router <url>', 'router miner endpoint, e.g. ws://127.0.0.1:8080/v1/miners')
    .option('--model <file.gguf>', 'GGUF model served by llama.cpp (default: the generated neurino-tiny)')
    .option('--model-name <name>', 'model name clients ask for (default: the file name without .gguf)')
    .addOption(chatTemplateOption())
    .addOption(chatTemplateFileOption())
    .option('--matryoshka', MATRYOSHKA_HELP)
    .option(
      '--no-prompt-cache',
      "llama.cpp: evaluate every prompt whole instead of keeping a slot's context that begins the next " +
        'prompt (a conversation evaluates only its new turn with it)',
    )
    .option(
      '--upstream <url>',
      'instead of --model: an OpenAI-compatible server (vLLM, SGLang, Ollama), e.g. http://127.0.0.1:8000/v1',
    )
    .option('--upstream-model <name>', 'the model name the upstream serves')
    .option('--upstream-api-key <key>', 'API key of the upstream, if it wants one')
    .option(
      '--wait-for-upstream-s <seconds>',
      'at start, keep trying an upstream that is not ready (refusing connections while it starts, 503 while ' +
        'it loads its model) this long before giving up; 0 gives up at once',
      parseIntWithin(0, 86_400),
      300,
    )
    .option(
      '--vram-mib <n>',
      'memory the upstream model holds, metered into compute units',
      parsePositiveInt,
      1024,
    )
    .option(
      '--pod-spec <file>',
      'use this pod spec (JSON, as the router catalog has it) instead of building one',
    )
    .option(
      '--pods <file>',
      'serve several models: a JSON list of pods, each with the settings of the flags above (model, ' +
        'modelName, chatTemplate, chatTemplateFile, matryoshka, promptCache, upstream, upstreamModel, upstreamApiKey, ' +
        "vramMib, podSpec, slots, contextSize, pricePerUnit); paths are read from the file's folder",
    )
    .option('--slots <n>', 'jobs run at once (with --pods: of each pod that sets none)', parsePositiveInt, 2)
    .option(
      '--memory-mib <n>',
      "memory the node's llama.cpp pods may hold at once (default: the GPUs' VRAM together less what other " +
        'processes hold at start, or the RAM on a CPU node): pods load at start while they fit, and a job ' +
        'for a cold pod unloads the pods idle longest to make room',
      parsePositiveInt,
    )
    .option(
      '--keep-alive-s <seconds>',
      "unload a llama.cpp pod idle this long, giving its memory back to the machine (as Ollama's " +
        'keep_alive); the next job for it loads it again (default: keep pods loaded, as the router ' +
        'sends jobs to warm pods first)',
      parsePositiveInt,
    )
    .option(
      '--threads <n>',
      'CPU threads llama.cpp shares among the running jobs; more help a CPU node with a large model, ' +
        'but measure (`neurino miner benchmark --threads N`): on a small or shared machine 2 ran the tiny ' +
        'model 30x slower than 1',
      parsePositiveInt,
      1,
    )
    .option(
      '--context-size <tokens>',
      'tokens one job may hold, prompt and completion together; each slot keeps that many in memory, ' +
        "rounded up to a multiple of 256 (default: the model's training context, at most 4096; with " +
        "--upstream: the server's limit)",
      parsePositiveInt,
    )
    .option('--price-per-unit <wei>', 'price in wei per compute unit of the built pod spec', parseWei)
    .option('--register-on-start', 'register and stake the node when it is not active (devnet)')
    .option('--stake <neu>', 'stake for --register-on-start', parseStake)
    .option('--operator <address>', 'operator receiving withdrawals (default: the node itself)', parseAddress)
    .option('--retry-refused', 'keep reconnecting when refused as unregistered, unstaked or jailed')
    .option(
      '--metrics-port <port>',
      "serve the node's Prometheus metrics (/metrics: jobs by pod and outcome, their time and tokens, " +
        'slots, the connection) and its state (/health) on this port',
      parsePort,
    )
    .option('--metrics-host <host>', 'interface of --metrics-port (default: 127.0.0.1)')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (options: MinerOptions, command: Command) => {
      await runMiner(options, command);
    });
  for (const subcommand of minerStakeCommands()) command.addCommand(subcommand);
  command.addCommand(minerBenchmarkCommand());
  return command;
}

/** The keys of `options` that are set: optional settings stay absent rather than undefined. */
function pick<T extends object, K extends keyof T>(
  options: T,
  keys: readonly K[],
): { [P in K]?: Exclude<T[P], undefined> } {
  const picked: { [P in K]?: Exclude<T[P], undefined> } = {};
  for (const key of keys)
    if (options[key] !== undefined) picked[key] = options[key] as Exclude<T[K], undefined>;
  return picked;
}

/** The single-pod flags, which a pods file sets per pod instead. */
const POD_FLAGS = [
  ['model', '--model'],
  ['modelName', '--model-name'],
  ['chatTemplate', '--chat-template'],
  ['chatTemplateFile', '--chat-template-file'],
  ['matryoshka', '--matryoshka'],
  ['promptCache', '--no-prompt-cache'],
  ['upstream', '--upstream'],
  ['upstreamModel', '--upstream-model'],
  ['upstreamApiKey', '--upstream-api-key'],
  ['vramMib', '--vram-mib'],
  ['podSpec', '--pod-spec'],
  ['contextSize', '--context-size'],
  ['pricePerUnit', '--price-per-unit'],
] as const;

/** The miner's pods: the one the flags describe, or those of `--pods`. */
async function podsOf(options: MinerOptions, command: Command, gpu: boolean): Promise<HostedPodConfig[]> {
  const defaults = { dataDir: options.dataDir, slots: options.slots, threads: options.threads, gpu };
  if (options.pods !== undefined) {
    const given = POD_FLAGS.find(([key]) => command.getOptionValueSource(key) === 'cli');
    if (given !== undefined) {
      throw new InvalidArgumentError(`${given[1]} describes one pod: with --pods, set it in the file`);
    }
    const pods: HostedPodConfig[] = [];
    for (const pod of await readPodsFile(options.pods, defaults)) pods.push(await operatorPod(pod));
    return pods;
  }
  return [
    await operatorPod({
      ...defaults,
      ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }),
      vramMiB: options.vramMib,
      promptCache: options.promptCache,
      ...pick(options, [
        'model',
        'modelName',
        'chatTemplate',
        'chatTemplateFile',
        'matryoshka',
        'upstream',
        'upstreamModel',
        'upstreamApiKey',
        'podSpec',
        'pricePerUnit',
      ]),
    }),
  ];
}

async function runMiner(options: MinerOptions, command: Command): Promise<void> {
  if (options.router === undefined)
    throw new InvalidArgumentError('--router is required, e.g. ws://127.0.0.1:8080/v1/miners');
  if (options.metricsHost !== undefined && options.metricsPort === undefined) {
    throw new InvalidArgumentError('--metrics-host needs --metrics-port');
  }
  if (options.registerOnStart && options.stake === undefined) {
    throw new InvalidArgumentError('--register-on-start needs --stake <neu>');
  }
  const logger = createLogger({ level: options.logLevel, name: 'neurino-miner' });
  const key = await nodeKey(options);
  const book = await addressBook(options);
  const hardware = await probeHardware();
  const pods = await podsOf(options, command, hardware.gpus.length > 0);
  const serving = pods.map((pod) => `${pod.spec.name} (${pod.podId})`).join(', ');
  console.error(`node ${key.account.address} (key from ${key.path ?? key.source}), serving ${serving}`);
  const metrics = options.metricsPort === undefined ? undefined : new NodeMetrics();
  const miner = await startMiner({
    routerUrl: options.router,
    account: key.account,
    domain: { chainId: book.chainId, verifyingContract: book.contracts.settlement },
    pods,
    // One pod runs as many jobs as its slots; several, as many as theirs together.
    ...(options.pods === undefined ? { slots: options.slots } : {}),
    logger,
    hardware,
    ...(options.memoryMib === undefined ? {} : { memoryMiB: options.memoryMib }),
    ...(options.keepAliveS === undefined ? {} : { keepAliveMs: options.keepAliveS * 1000 }),
    waitForPodsMs: options.waitForUpstreamS * 1000,
    benchmarkThreads: options.threads,
    chain: {
      rpcUrl: options.rpcUrl,
      nodeRegistry: book.contracts.nodeRegistry,
      settlement: book.contracts.settlement,
      ...(options.registerOnStart && options.stake !== undefined
        ? {
            registerOnStart: {
              stake: options.stake,
              ...(options.operator && { operator: options.operator }),
            },
          }
        : {}),
    },
    ...(options.retryRefused ? { retryRefused: true } : {}),
    ...(metrics === undefined ? {} : { onAttemptEnd: (outcome) => metrics.attemptEnded(outcome) }),
  });
  if (metrics !== undefined && options.metricsPort !== undefined) {
    metrics.watch(() => miner.state());
    const server = await startMetricsServer({
      metrics,
      port: options.metricsPort,
      ...(options.metricsHost === undefined ? {} : { host: options.metricsHost }),
    });
    console.error(`metrics  ${server.url}/metrics · /health`);
    void miner.done.then(() => server.close());
  }
  // SIGTERM/SIGINT: finish running jobs, say `draining`, then exit; a second signal exits at once.
  onShutdown(() => miner.drain());
  // SIGHUP: the pods' flags and files read again (a pods file edited, a spec replaced), one reload at a time.
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      try {
        const changes = await miner.updatePods(await podsOf(options, command, hardware.gpus.length > 0));
        const names = (list: readonly { spec: { name: string } }[]) =>
          list.map((p) => p.spec.name).join(', ');
        console.error(
          `pods reloaded: ${changes.added.length === 0 ? 'none' : names(changes.added)} added, ` +
            `${changes.removed.length === 0 ? 'none' : names(changes.removed)} removed`,
        );
      } catch (error) {
        logger.error(
          { err: error },
          'pods not reloaded, still serving them as they were: the configuration has a problem',
        );
      }
    });
  });
  const exit = await miner.done;
  if (exit.reason === 'refused') {
    console.error(`neurino: the router refused this node (${exit.refusal?.code}): ${exit.refusal?.reason}`);
    await shutdown(1);
  }
}
