// How long an idle in-process pod stays loaded when the operator sets a bound (Ollama's keep_alive): past
// it the pod is unloaded, its memory given back to the machine, and loaded again by the next job for it.
// Without a bound pods stay loaded, since a warm pod is what the router picks first.
import { performance } from 'node:perf_hooks';

/** What keep-alive needs of a pod (HostedPod is one). */
export interface IdlePod {
  readonly resident: boolean;
  readonly loaded: boolean;
  /** Jobs are running on it. */
  readonly busy: boolean;
  readonly unloading: boolean;
  /** When it last began or ended a job, or was loaded (performance.now()). */
  readonly lastUsed: number;
  unload(): Promise<void>;
}

/** Checks often enough to unload a pod within a quarter of its keep-alive past it, at most every 30 s. */
const MAX_CHECK_MS = 30_000;

export class PodKeepAlive<P extends IdlePod> {
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly pods: () => readonly P[],
    private readonly keepAliveMs: number,
    private readonly onUnloaded: (pod: P, error?: unknown) => void,
  ) {
    if (!(keepAliveMs > 0)) throw new RangeError(`keep-alive must be positive, got ${keepAliveMs}`);
    const every = Math.max(10, Math.min(MAX_CHECK_MS, keepAliveMs / 4));
    this.#timer = setInterval(() => this.check(), every);
    this.#timer.unref();
  }

  /** Unloads the in-process pods idle for the keep-alive or longer. */
  check(now = performance.now()): void {
    for (const pod of this.pods()) {
      if (!pod.resident || !pod.loaded || pod.busy || pod.unloading) continue;
      if (now - pod.lastUsed < this.keepAliveMs) continue;
      pod.unload().then(
        () => this.onUnloaded(pod),
        (error: unknown) => this.onUnloaded(pod, error),
      );
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
