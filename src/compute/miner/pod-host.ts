// The pods this node hosts: the ones its operator configured, each with its runtime. The router may ask
// to load or unload them (autoscaling); a job for a cold pod loads it first.
import { performance } from 'node:perf_hooks';
import type { Hex } from 'viem';
import { type PodSpec, podId as podIdOf } from '../../protocol/pod-spec.ts';
import type { PodRuntime } from '../pods/runtime.ts';
import { MinerError } from './errors.ts';

export interface HostedPodConfig {
  readonly spec: PodSpec;
  readonly podId: Hex;
  readonly runtime: PodRuntime;
  /**
   * Memory the loaded pod holds, in MiB: VRAM on a GPU node, RAM on a CPU node. Metered into compute units.
   * Defaults to the spec's minVramMiB (at least 1), which is what the router reserves credits for.
   */
  readonly memoryMiB?: number;
}

export class HostedPod {
  readonly spec: PodSpec;
  readonly podId: Hex;
  readonly runtime: PodRuntime;
  readonly memoryMiB: number;
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  /** Set between an unload request and the unload itself: the pod is no longer announced as warm. */
  private unloading = false;

  constructor(config: HostedPodConfig) {
    this.spec = config.spec;
    this.podId = config.podId;
    this.runtime = config.runtime;
    this.memoryMiB = Math.max(1, Math.ceil(config.memoryMiB ?? config.spec.minVramMiB));
  }

  get warm(): boolean {
    return !this.unloading && this.runtime.info().warm;
  }

  get activeJobs(): number {
    return this.running;
  }

  async load(signal?: AbortSignal): Promise<{ loadMs: number }> {
    const started = performance.now();
    await this.runtime.load(signal);
    return { loadMs: Math.round(performance.now() - started) };
  }

  /** Waits for the pod's running jobs, then frees its memory. */
  async unload(): Promise<void> {
    this.unloading = true;
    try {
      while (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await this.runtime.unload();
    } finally {
      this.unloading = false;
    }
  }

  /** Runs a job on this pod, loading it first when cold; counted so unload waits for it. */
  async run<T>(signal: AbortSignal, job: (runtime: PodRuntime) => Promise<T>): Promise<T> {
    this.running++;
    try {
      if (!this.runtime.info().warm) await this.runtime.load(signal);
      return await job(this.runtime);
    } finally {
      this.running--;
      if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}

/** What `PodHost.replace` changed. */
export interface PodChanges {
  readonly added: HostedPod[];
  /** No longer hosted: their running jobs finish; `unload` them then. */
  readonly removed: HostedPod[];
  readonly kept: HostedPod[];
}

export class PodHost {
  private pods = new Map<Hex, HostedPod>();

  constructor(configs: readonly HostedPodConfig[]) {
    this.pods = hostedPods(configs, new Map());
  }

  /**
   * Hosts exactly these pods from now on (the operator reloaded the node's configuration): a pod already
   * hosted keeps its runtime (the config's new one is never loaded), new ones are added cold, and the
   * others leave at once, for new jobs; a bad set changes nothing.
   */
  replace(configs: readonly HostedPodConfig[]): PodChanges {
    const next = hostedPods(configs, this.pods);
    const changes: PodChanges = {
      added: [...next.values()].filter((pod) => !this.pods.has(pod.podId)),
      removed: [...this.pods.values()].filter((pod) => !next.has(pod.podId)),
      kept: [...next.values()].filter((pod) => this.pods.get(pod.podId) === pod),
    };
    this.pods = next;
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

  async unloadAll(): Promise<void> {
    await Promise.all(this.list().map((pod) => pod.runtime.unload()));
  }
}

/** The pods of `configs`, checked; one already in `current` is taken from there. */
function hostedPods(
  configs: readonly HostedPodConfig[],
  current: ReadonlyMap<Hex, HostedPod>,
): Map<Hex, HostedPod> {
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
    pods.set(id, current.get(id) ?? new HostedPod({ ...config, podId: id }));
  }
  return pods;
}
