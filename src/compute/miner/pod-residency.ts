// Which of a node's pods stay loaded. Pods holding memory in the miner's own process (llama.cpp's weights;
// an upstream server holds its own) share the node's memory: its GPUs' VRAM, or its RAM on a CPU node,
// unless the operator gives them less. A cold pod is loaded only when it fits: the pods idle longest
// are unloaded to make room (a serverless node keeps what it was asked for last). When pods running jobs
// hold the room, a job's load waits for the ones used longest ago to finish them (they take no new jobs
// meanwhile, so a stream of jobs for them cannot starve it), as Ollama's scheduler waits for a model to go
// idle; a load that may not wait is refused as busy. Loads run one at a time, in the order they came, so
// two of them cannot both count the same free memory.
import { RetryableError } from '../../protocol/errors.ts';
import { podMemoryMiB } from '../../protocol/pod-memory.ts';
import type { Hardware } from './hardware/probe.ts';

/** What the residency needs of a pod (HostedPod is one). */
export interface ResidentPod {
  readonly name: string;
  /** MiB the pod holds in this process once loaded. */
  readonly residentMiB: number;
  /** What makes up residentMiB, for a refusal's message ("weights 4,685 MiB, 2 slots × ..."). */
  readonly memoryDetail?: string | undefined;
  /** Holds its memory in this process (false: an upstream server holds it, outside the budget). */
  readonly resident: boolean;
  /** Holds its memory now (loaded, or unloading while its last jobs end). */
  readonly loaded: boolean;
  /** Jobs are running on it. */
  readonly busy: boolean;
  /** When it last began or ended a job (performance.now()); -Infinity when never. */
  readonly lastUsed: number;
  /** Unloads it once its running jobs end. */
  unload(): Promise<void>;
}

export interface LoadOptions {
  /** Unload idle pods to make room (default). False: load only into free memory (a preload). */
  evict?: boolean;
  /**
   * Wait for pods running jobs to finish them and unload them (a job's load). False (default): refuse
   * as busy when only they hold the room.
   */
  wait?: boolean;
  /** The job that wants the pod was stopped while its load waited its turn: unload nothing more for it. */
  signal?: AbortSignal | undefined;
}

export class PodResidency<P extends ResidentPod = ResidentPod> {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    /** MiB the resident pods may hold together; Infinity: no bound. */
    readonly capacityMiB: number,
    /** Told of each pod unloaded to make room for another. */
    private readonly onEvicted: (evicted: P, forPod: P) => void = () => {},
  ) {
    if (!(capacityMiB > 0)) throw new RangeError(`memory capacity must be positive, got ${capacityMiB}`);
  }

  /** Why `pod` can never be loaded here (larger than the whole budget), or undefined. */
  misfit(pod: P): string | undefined {
    if (!pod.resident || pod.residentMiB <= this.capacityMiB) return undefined;
    const detail = pod.memoryDetail === undefined ? '' : ` (${pod.memoryDetail})`;
    return `pod ${pod.name} needs ${pod.residentMiB} MiB${detail}, more than the ${this.capacityMiB} MiB this node's pods may hold`;
  }

  /** MiB the resident pods among `pods` hold now. */
  heldMiB(pods: readonly P[]): number {
    return sumOf(pods.filter((p) => p.resident && p.loaded));
  }

  /**
   * Runs `load` (which loads `pod`) once `pod` fits beside the other loaded pods of `pods`, unloading the
   * ones used longest ago when there is not room enough: idle ones at once, busy ones (with `wait`) once
   * their running jobs end. Throws `no_capacity` (retryable: busy) when only pods running jobs hold the
   * room and it may not wait, or may not unload at all; `pod_load_failed` when the pod is larger than the
   * whole budget. A pod holding no memory here loads at once.
   */
  admit<T>(pod: P, pods: () => readonly P[], load: () => Promise<T>, options: LoadOptions = {}): Promise<T> {
    if (!pod.resident) return load();
    const turn = this.#queue.then(async () => {
      const misfit = this.misfit(pod);
      if (misfit !== undefined) throw new RetryableError('pod_load_failed', { message: misfit });
      if (!pod.loaded) await this.#makeRoom(pod, pods, options);
      return load();
    });
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #makeRoom(pod: P, pods: () => readonly P[], options: LoadOptions): Promise<void> {
    let freeBefore = Number.NEGATIVE_INFINITY;
    for (;;) {
      options.signal?.throwIfAborted();
      const others = pods().filter((p) => p !== pod && p.resident && p.loaded);
      const free = this.capacityMiB - sumOf(others);
      if (free >= pod.residentMiB) return;
      // Unloading freed nothing (a runtime that stays loaded): refuse rather than unload forever.
      if (free <= freeBefore) throw this.#busy(pod, free, others);
      freeBefore = free;
      const idle = others.filter((p) => !p.busy);
      // Nothing is unloaded unless unloading can make room: a busy node keeps its warm pods.
      const mayWait = options.wait === true && options.evict !== false;
      if (options.evict === false || (!mayWait && free + sumOf(idle) < pod.residentMiB)) {
        throw this.#busy(pod, free, others);
      }
      // Idle ones first, then those used longest ago; together just enough to make room.
      const byAge = (a: P, b: P) => a.lastUsed - b.lastUsed;
      const victims: P[] = [];
      let freed = free;
      for (const candidate of [...idle.sort(byAge), ...others.filter((p) => p.busy).sort(byAge)]) {
        if (freed >= pod.residentMiB) break;
        victims.push(candidate);
        freed += candidate.residentMiB;
      }
      await Promise.all(
        victims.map(async (victim) => {
          await victim.unload();
          this.onEvicted(victim, pod);
        }),
      );
    }
  }

  #busy(pod: P, free: number, others: readonly P[]): RetryableError {
    const busy = others.filter((p) => p.busy).map((p) => p.name);
    return new RetryableError('no_capacity', {
      message:
        `pod ${pod.name} needs ${pod.residentMiB} MiB and ${Math.max(0, free)} of the node's ` +
        `${this.capacityMiB} MiB are free` +
        (busy.length === 0 ? '' : `; pods running jobs hold the rest (${busy.join(', ')})`),
      details: { pod: pod.name, neededMiB: pod.residentMiB, freeMiB: Math.max(0, free) },
    });
  }
}

/**
 * What a node's in-process pods may hold when its operator sets nothing, and why: on a GPU node its GPUs'
 * VRAM together (llama.cpp splits a model's layers across them), less what other processes (an upstream
 * server, a desktop) held when the miner started; on a CPU node its RAM.
 */
export function defaultPodMemory(hardware: Hardware): { budgetMiB: number; source: string } {
  const memory = podMemoryMiB(hardware);
  if (hardware.gpus.length === 0) return { budgetMiB: memory, source: "the node's RAM" };
  const free = hardware.freeVramMiB;
  if (free === undefined || free >= memory) {
    const gpus = hardware.gpus.length;
    return { budgetMiB: memory, source: gpus === 1 ? "the GPU's VRAM" : `the VRAM of its ${gpus} GPUs` };
  }
  return { budgetMiB: Math.max(1, free), source: 'the VRAM other processes left free at start' };
}

function sumOf(pods: readonly ResidentPod[]): number {
  return pods.reduce((sum, p) => sum + p.residentMiB, 0);
}
