// The pods this node hosts: the ones its operator configured, each with its runtime. The router may ask
// to load or unload them (autoscaling); a job for a cold pod loads it first, unloading the pods idle
// longest when the node's memory is full (pod-residency.ts).
import { performance } from 'node:perf_hooks';
import type { Hex } from 'viem';
import { MAX_WARM_PODS } from '../../protocol/messages/node-state.ts';
import { type PodSpec, podId as podIdOf } from '../../protocol/pod-spec.ts';
import { isServerGone } from '../pods/errors.ts';
import type { PodRuntime } from '../pods/runtime.ts';
import { MinerError } from './errors.ts';
import { PodKeepAlive } from './pod-keep-alive.ts';
import { PodRecovery } from './pod-recovery.ts';
import { type LoadOptions, PodResidency, type ResidentPod } from './pod-residency.ts';

export interface HostedPodConfig {
  readonly spec: PodSpec;
  readonly podId: Hex;
  readonly runtime: PodRuntime;
  /**
   * The pod's memory as metered into compute units (GPU time × memory), in MiB: VRAM on a GPU node, RAM
   * on a CPU node. Defaults to the spec's minVramMiB (at least 1), which is what the router reserves
   * credits for, so every node serving the pod charges alike for it.
   */
  readonly memoryMiB?: number;
  /**
   * What the loaded pod holds in the miner's process, as its runtime estimated before loading it (a
   * llama-cpp pod: weights, the slots' KV cache, the embedding context); the node's memory budget counts
   * it. Default: memoryMiB.
   */
  readonly memoryEstimate?: { readonly totalMiB: number; readonly detail: string };
}

/** Runtimes whose model lives in the miner's process; an upstream server holds its memory itself. */
const IN_PROCESS_RUNTIMES: ReadonlySet<string> = new Set(['llama-cpp']);

export class HostedPod implements ResidentPod {
  readonly spec: PodSpec;
  readonly podId: Hex;
  readonly runtime: PodRuntime;
  readonly memoryMiB: number;
  readonly residentMiB: number;
  readonly memoryDetail: string | undefined;
  readonly resident: boolean;
  lastUsed = Number.NEGATIVE_INFINITY;
  private running = 0;
  /** Jobs waiting to load the pod (for room, or their turn): not running, so an unload does not wait for them. */
  private waiting = 0;
  private idleWaiters: Array<() => void> = [];
  /** Set from an unload request to the unload's end: the pod is not announced warm, and jobs wait for it. */
  private unloadDone: Promise<void> | undefined;

  constructor(
    config: HostedPodConfig,
    private readonly admit: (
      pod: HostedPod,
      load: () => Promise<void>,
      options: LoadOptions,
    ) => Promise<void>,
    /** Told when a job found the pod's server gone (pod-recovery.ts). */
    private readonly onServerGone: (pod: HostedPod, error: unknown) => void = () => {},
  ) {
    this.spec = config.spec;
    this.podId = config.podId;
    this.runtime = config.runtime;
    this.memoryMiB = Math.max(1, Math.ceil(config.memoryMiB ?? config.spec.minVramMiB));
    this.residentMiB = Math.max(1, Math.ceil(config.memoryEstimate?.totalMiB ?? this.memoryMiB));
    this.memoryDetail = config.memoryEstimate?.detail;
    this.resident = IN_PROCESS_RUNTIMES.has(config.spec.runtime);
  }

  get name(): string {
    return this.spec.name;
  }

  get warm(): boolean {
    return this.unloadDone === undefined && this.runtime.info().warm;
  }

  /** Holds its memory: loaded, or unloading while its last jobs end. */
  get loaded(): boolean {
    return this.runtime.info().warm;
  }

  /** Jobs run on it, or wait to load it: not a pod to unload for another while idle ones are left. */
  get busy(): boolean {
    return this.running > 0 || this.waiting > 0;
  }

  /** An unload is under way (waiting for the pod's last jobs, or freeing its memory). */
  get unloading(): boolean {
    return this.unloadDone !== undefined;
  }

  get activeJobs(): number {
    return this.running;
  }

  /**
   * Loads the pod when the node's memory has room for it (see PodResidency.admit). `claim` is called
   * within the load's turn once the pod is loaded, before any other load may unload it again.
   */
  async load(
    signal?: AbortSignal,
    options: LoadOptions = {},
    claim?: () => void,
  ): Promise<{ loadMs: number }> {
    const started = performance.now();
    const load = async () => {
      await this.runtime.load(signal);
      claim?.();
    };
    if (this.loaded) await load();
    else {
      const admitted = this.admit(this, load, { ...options, signal });
      // A load waiting its turn stops at the signal; the turn, when it comes, finds it aborted.
      await (signal === undefined ? admitted : abortable(admitted, signal));
    }
    // Loaded is used: a pod just loaded is not the first to go, nor idle since long ago.
    this.lastUsed = performance.now();
    return { loadMs: Math.round(performance.now() - started) };
  }

  /**
   * Waits for the pod's running jobs, then frees its memory. Jobs arriving meanwhile wait for the unload
   * and load the pod again (in their turn), so a stream of them cannot keep it from ever unloading.
   */
  unload(): Promise<void> {
    this.unloadDone ??= (async () => {
      try {
        while (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        await this.runtime.unload();
      } finally {
        this.unloadDone = undefined;
      }
    })();
    return this.unloadDone;
  }

  /**
   * Runs a job on this pod, loading it first when cold (waiting, if need be, for room that pods running
   * jobs hold); counted once it runs, so an unload waits for it.
   */
  async run<T>(signal: AbortSignal, job: (runtime: PodRuntime) => Promise<T>): Promise<T> {
    // Counted as running only once the pod is loaded for it: an unload waiting for this pod's running jobs
    // must not wait for a job that waits, behind that very unload, for its turn to load the pod (a
    // deadlock); and the claim is made in the load's own turn, so no other load unloads it in between.
    let claimed = false;
    const claim = () => {
      if (claimed || signal.aborted) return;
      claimed = true;
      this.running++;
      this.lastUsed = performance.now();
    };
    this.waiting++;
    try {
      while (!claimed) {
        const unloading = this.unloadDone;
        if (unloading !== undefined)
          await abortable(
            unloading.catch(() => undefined),
            signal,
          );
        else if (this.runtime.info().warm) claim();
        else await this.load(signal, { wait: true }, claim);
        signal.throwIfAborted();
      }
    } catch (error) {
      if (claimed) this.release();
      throw error;
    } finally {
      this.waiting--;
    }
    try {
      return await job(this.runtime);
    } catch (error) {
      if (isServerGone(error)) this.onServerGone(this, error);
      throw error;
    } finally {
      this.release();
    }
  }

  private release(): void {
    this.running--;
    this.lastUsed = performance.now();
    if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

/** `promise`, or the signal's reason once it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** What `PodHost.replace` changed. */
export interface PodChanges {
  readonly added: HostedPod[];
  /** No longer hosted: their running jobs finish; `unload` them then. */
  readonly removed: HostedPod[];
  readonly kept: HostedPod[];
}

export interface PodHostOptions {
  /** MiB the node's in-process pods may hold at once; default: no bound. */
  readonly memoryMiB?: number;
  /** Told of each pod unloaded to make room for another. */
  readonly onEvicted?: (evicted: HostedPod, forPod: HostedPod) => void;
  /** Unload an in-process pod idle this long (pod-keep-alive.ts); default: keep pods loaded. */
  readonly keepAliveMs?: number;
  /** Told of each pod unloaded for having been idle past the keep-alive (with the error of a failed one). */
  readonly onIdleUnloaded?: (pod: HostedPod, error?: unknown) => void;
  /** Told of each pod whose server went away (unloaded until it is back), and when it is back. */
  readonly onServerGone?: (pod: HostedPod, error: unknown) => void;
  readonly onServerBack?: (pod: HostedPod, downMs: number) => void;
}

export class PodHost {
  private pods = new Map<Hex, HostedPod>();
  private readonly residency: PodResidency<HostedPod>;
  private readonly warmListeners = new Set<() => void>();
  /** Pods no longer hosted that still hold memory until their last jobs end. */
  private readonly leaving = new Set<HostedPod>();
  private readonly keepAlive: PodKeepAlive<HostedPod> | undefined;
  private readonly recovery: PodRecovery<HostedPod>;

  constructor(configs: readonly HostedPodConfig[], options: PodHostOptions = {}) {
    this.recovery = new PodRecovery<HostedPod>({
      isHosted: (pod) => this.pods.get(pod.podId) === pod,
      onChange: () => this.warmChanged(),
      ...(options.onServerGone && { onLost: options.onServerGone }),
      ...(options.onServerBack && { onBack: options.onServerBack }),
    });
    this.residency = new PodResidency(options.memoryMiB ?? Number.POSITIVE_INFINITY, (evicted, forPod) => {
      options.onEvicted?.(evicted, forPod);
      this.warmChanged();
    });
    this.pods = this.hostedPods(configs);
    const { keepAliveMs } = options;
    this.keepAlive =
      keepAliveMs === undefined
        ? undefined
        : new PodKeepAlive(
            () => this.list(),
            keepAliveMs,
            (pod, error) => {
              options.onIdleUnloaded?.(pod, error);
              this.warmChanged();
            },
          );
  }

  /** MiB the node's in-process pods may hold at once (Infinity: no bound). */
  get memoryMiB(): number {
    return this.residency.capacityMiB;
  }

  /** MiB the loaded in-process pods hold now. */
  get heldMiB(): number {
    return this.residency.heldMiB(this.holding());
  }

  /**
   * The pods that may hold memory: those hosted, and those removed that are loaded or have jobs (which may
   * still load them) until their unload ends.
   */
  private holding(): HostedPod[] {
    for (const pod of this.leaving) if (!pod.loaded && !pod.busy) this.leaving.delete(pod);
    return [...this.pods.values(), ...this.leaving];
  }

  private warmChanged(): void {
    for (const listener of this.warmListeners) listener();
  }

  /** Calls `listener` when a pod turned cold by itself (room for another, keep-alive); returns how to stop. */
  onWarmChange(listener: () => void): () => void {
    this.warmListeners.add(listener);
    return () => this.warmListeners.delete(listener);
  }

  /**
   * Hosts exactly these pods from now on (the operator reloaded the node's configuration): a pod already
   * hosted keeps its runtime (the config's new one is never loaded), new ones are added cold, and the
   * others leave at once, for new jobs; a bad set changes nothing.
   */
  replace(configs: readonly HostedPodConfig[]): PodChanges {
    const next = this.hostedPods(configs);
    const changes: PodChanges = {
      added: [...next.values()].filter((pod) => !this.pods.has(pod.podId)),
      removed: [...this.pods.values()].filter((pod) => !next.has(pod.podId)),
      kept: [...next.values()].filter((pod) => this.pods.get(pod.podId) === pod),
    };
    this.pods = next;
    for (const pod of changes.removed) this.leaving.add(pod);
    return changes;
  }

  get(podId: Hex): HostedPod | undefined {
    return this.pods.get(podId.toLowerCase() as Hex);
  }

  list(): HostedPod[] {
    return [...this.pods.values()];
  }

  warmPodIds(): Hex[] {
    return this.list()
      .filter((pod) => pod.warm)
      .map((pod) => pod.podId);
  }

  runtimeKinds(): string[] {
    return [...new Set(this.list().map((pod) => pod.spec.runtime))];
  }

  /** Unloads every pod (the miner stops); keep-alive stops checking. */
  async unloadAll(): Promise<void> {
    this.keepAlive?.stop();
    this.recovery.stop();
    await Promise.all(this.list().map((pod) => pod.runtime.unload()));
  }

  /** The pods of `configs`, checked; one hosted already is kept as it is. */
  private hostedPods(configs: readonly HostedPodConfig[]): Map<Hex, HostedPod> {
    // The capabilities frame lists them all: more would be refused by the router.
    if (configs.length > MAX_WARM_PODS) {
      throw new MinerError(
        'invalid_config',
        `a node hosts at most ${MAX_WARM_PODS} pods, got ${configs.length}`,
      );
    }
    const pods = new Map<Hex, HostedPod>();
    for (const config of configs) {
      const id = config.podId.toLowerCase() as Hex;
      const expected = podIdOf(config.spec);
      if (id !== expected) {
        throw new MinerError(
          'invalid_config',
          `pod ${config.spec.name}: podId ${config.podId} does not match its spec (${expected})`,
        );
      }
      if (config.runtime.info().runtime !== config.spec.runtime) {
        throw new MinerError(
          'invalid_config',
          `pod ${config.spec.name}: spec wants runtime ${config.spec.runtime}, got ${config.runtime.info().runtime}`,
        );
      }
      if (pods.has(id)) throw new MinerError('invalid_config', `pod ${config.spec.name} is configured twice`);
      const pod =
        this.pods.get(id) ??
        new HostedPod(
          { ...config, podId: id },
          (p, load, options) => this.residency.admit(p, () => this.holding(), load, options),
          (p, error) => this.recovery.lost(p, error),
        );
      const misfit = this.residency.misfit(pod);
      if (misfit !== undefined) throw new MinerError('invalid_config', misfit);
      pods.set(id, pod);
    }
    return pods;
  }
}
