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

export class PodHost {
  private readonly pods = new Map<Hex, HostedPod>();

  constructor(configs: readonly HostedPodConfig[]) {
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
      if (this.pods.has(id))
        throw new MinerError('invalid_config', `pod ${config.spec.name} is configured twice`);
      this.pods.set(id, new HostedPod({ ...config, podId: id }));
    }
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
