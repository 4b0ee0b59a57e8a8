// The miner: probes the machine, checks its standing on-chain, warms its pods, then hands over to the
// loop that keeps one outbound session to the router alive (miner-loop.ts).
import type { Logger } from 'pino';
import type { Address, Hex, LocalAccount } from 'viem';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import type { HandshakeRefusalCode } from '../../protocol/error-codes.ts';
import type { BackoffOptions } from './backoff.ts';
import { ensureStanding, type MinerChainConfig } from './chain-standing.ts';
import { MinerError } from './errors.ts';
import { measureEfficiency } from './hardware/efficiency.ts';
import { type Hardware, probeHardware } from './hardware/probe.ts';
import type { AttemptOutcome } from './job-desk.ts';
import { MinerLoop } from './miner-loop.ts';
import { type HostedPodConfig, type PodChanges, PodHost } from './pod-host.ts';
import { logPodMemory, preload } from './pod-preload.ts';
import { defaultPodMemory } from './pod-residency.ts';
import { type DialRouter, routerEndpoint } from './router-socket.ts';
import { Slots } from './slots.ts';

export interface MinerConfig {
  /** The router's miner endpoint, e.g. `ws://127.0.0.1:8080/v1/miners` (the path is added when missing). */
  readonly routerUrl: string;
  /** The node key. */
  readonly account: LocalAccount;
  /** EIP-712 domain of receipts: the chain id and the Settlement contract. */
  readonly domain: ProtocolDomain;
  /** Domain of the handshake answer; defaults to `domain`. */
  readonly handshakeDomain?: ProtocolDomain;
  readonly pods: readonly HostedPodConfig[];
  /** Attempts run at once; defaults to the sum of the pods' runtime slots. */
  readonly slots?: number;
  readonly logger: Logger;
  /** Checks (and on the devnet, makes) the node's registration before connecting. */
  readonly chain?: MinerChainConfig;
  /** Skips the probe (the operator knows better, or a test). */
  readonly hardware?: Hardware;
  /** Skips the self-benchmark. */
  readonly efficiency?: number;
  /** CPU threads of the self-benchmark: those of the node's llama.cpp pods. Default 1. */
  readonly benchmarkThreads?: number;
  /** Load the pods before connecting (in order, while they fit), so they are announced warm. Default true. */
  readonly preload?: boolean;
  /**
   * How long the preload waits for a pod whose server is not ready yet (an upstream still starting) before
   * the miner gives up, in ms. Default 0: fail at once.
   */
  readonly waitForPodsMs?: number;
  /**
   * MiB the node's in-process pods (llama.cpp) may hold at once; a cold pod that does not fit unloads those
   * idle longest. Default: the GPUs' VRAM together less what other processes held at start, or the RAM
   * on a CPU node (defaultPodMemory).
   */
  readonly memoryMiB?: number;
  /** Unload an in-process pod idle this long, as Ollama's keep_alive (ms); default: keep pods loaded. */
  readonly keepAliveMs?: number;
  /** Keep reconnecting when refused as unregistered, unstaked or jailed (waiting for stake). Default false. */
  readonly retryRefused?: boolean;
  readonly reconnect?: BackoffOptions;
  readonly handshakeTimeoutMs?: number;
  /** How long past a job's deadline the miner stops it by itself (default 1 s: the router cancels it first). */
  readonly deadlineBackstopMs?: number;
  /** How to open the socket; the default dials with `ws`. */
  readonly dial?: DialRouter;
  /** Told how each attempt the node ran ended (its metrics count them). */
  readonly onAttemptEnd?: (outcome: AttemptOutcome) => void;
}

export type MinerStatus = 'connecting' | 'connected' | 'draining' | 'stopped';

export interface MinerState {
  readonly status: MinerStatus;
  readonly node: Address;
  readonly router: string;
  readonly sessionId: string | undefined;
  /** Sessions the router admitted so far. */
  readonly connections: number;
  readonly slots: { total: number; free: number };
  readonly activeJobs: number;
  readonly jobsSucceeded: number;
  readonly jobsFailed: number;
  readonly warmPods: Hex[];
  /** MiB the in-process pods may hold at once, and hold now (see MinerConfig.memoryMiB). */
  readonly podMemory: { budgetMiB: number; heldMiB: number };
  readonly efficiency: number;
  readonly hardware: Hardware;
  readonly lastRefusal: { code: HandshakeRefusalCode; reason: string } | undefined;
}

export interface MinerExit {
  readonly reason: 'stopped' | 'drained' | 'refused';
  readonly refusal?: { code: HandshakeRefusalCode; reason: string };
}

export interface Miner {
  readonly address: Address;
  /** Resolves on the first `welcome`; rejects with MinerError when the miner ends before (refused, stopped). */
  connected(): Promise<void>;
  /** Resolves when the miner has ended for good. */
  readonly done: Promise<MinerExit>;
  /** Finishes running jobs, takes no new ones, tells the router (`draining`), then stops. */
  drain(): Promise<void>;
  /** Stops at once: running jobs are cancelled (the router retries them elsewhere). */
  stop(): Promise<void>;
  /** Hosts exactly these pods from now on, announced to the router; see MinerLoop.updatePods. */
  updatePods(configs: readonly HostedPodConfig[]): Promise<PodChanges>;
  state(): MinerState;
}

export async function startMiner(config: MinerConfig): Promise<Miner> {
  const router = endpoint(config.routerUrl);
  if (config.pods.length === 0) throw new MinerError('invalid_config', 'a miner needs at least one pod');
  const log = config.logger.child({ node: config.account.address });
  const hardware = config.hardware ?? (await probeHardware());
  for (const warning of hardware.warnings) log.warn(`hardware probe: ${warning}`);
  const budget =
    config.memoryMiB === undefined
      ? defaultPodMemory(hardware)
      : { budgetMiB: config.memoryMiB, source: 'as configured' };
  log.info(
    { podMemoryMiB: budget.budgetMiB },
    `pods may hold ${budget.budgetMiB} MiB at once (${budget.source}; --memory-mib to set)`,
  );
  const pods = new PodHost(config.pods, {
    memoryMiB: budget.budgetMiB,
    onEvicted: (evicted, forPod) =>
      log.info(
        { podId: evicted.podId, forPodId: forPod.podId },
        `pod ${evicted.spec.name} unloaded to make room for ${forPod.spec.name}`,
      ),
    ...(config.keepAliveMs === undefined ? {} : { keepAliveMs: config.keepAliveMs }),
    onIdleUnloaded: (pod, error) =>
      error === undefined
        ? log.info({ podId: pod.podId }, `pod ${pod.spec.name} unloaded after ${config.keepAliveMs} ms idle`)
        : log.error({ err: error, podId: pod.podId }, `unloading the idle pod ${pod.spec.name} failed`),
    onServerGone: (pod, error) =>
      log.warn(
        { podId: pod.podId, reason: error instanceof Error ? error.message : String(error) },
        `pod ${pod.spec.name}: its server is gone; announced cold until it answers again`,
      ),
    onServerBack: (pod, downMs) =>
      log.info({ podId: pod.podId, downMs }, `pod ${pod.spec.name}: its server is back; warm again`),
  });
  for (const pod of pods.list()) logPodMemory(pod, log);
  const slots = new Slots(
    config.slots ?? pods.list().reduce((sum, pod) => sum + pod.runtime.info().slots, 0),
  );
  const efficiency =
    config.efficiency ?? (await measureEfficiency({ hardware, threads: config.benchmarkThreads ?? 1, log }));
  log.info(
    { gpus: hardware.gpus.length, cores: hardware.cpu.cores, ramMiB: hardware.ramMiB, efficiency },
    hardware.gpus.length === 0
      ? 'CPU node (no GPU found)'
      : `GPU node: ${hardware.gpus.map((g) => g.name).join(', ')}`,
  );
  if (config.chain !== undefined) await ensureStanding(config.chain, config.account, hardware, log);
  if (config.preload ?? true) {
    try {
      const giveUpAt = Date.now() + (config.waitForPodsMs ?? 0);
      for (const pod of pods.list()) await preload(pod, log, Math.max(0, giveUpAt - Date.now()));
    } catch (error) {
      // Do not leave half the pods holding memory behind a miner that never started.
      await pods.unloadAll().catch(() => undefined);
      throw error;
    }
  }
  return new MinerLoop({ config, router, pods, slots, hardware, efficiency, log }).start();
}

function endpoint(url: string): string {
  try {
    return routerEndpoint(url);
  } catch (cause) {
    throw new MinerError(
      'invalid_config',
      `bad router URL ${JSON.stringify(url)}: ${(cause as Error).message}`,
    );
  }
}
