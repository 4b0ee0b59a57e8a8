// A pod whose server went away (an `openai-upstream` pod's server refusing connections: restarted,
// upgraded, crashed) is unloaded, so the node announces it cold and the router stops sending it jobs
// the node would fail, then loaded again as soon as the server answers, and announced warm. Without this
// every job sent meanwhile fails as the node's fault and the router suspends the node ever longer, up to
// minutes after the server is back.
import { setTimeout as sleep } from 'node:timers/promises';
import { type BackoffOptions, backoffDelay, NO_JITTER, SERVER_RETRY } from './backoff.ts';

/** What PodRecovery needs of a hosted pod. */
export interface RecoverablePod {
  readonly podId: string;
  unload(): Promise<void>;
  load(): Promise<unknown>;
}

export interface PodRecoveryOptions<P extends RecoverablePod> {
  /** Still hosted (not removed by a reload): a removed pod is not brought back. */
  readonly isHosted: (pod: P) => boolean;
  /** The pod turned cold or warm: announce it. */
  readonly onChange: () => void;
  readonly onLost?: (pod: P, error: unknown) => void;
  readonly onBack?: (pod: P, downMs: number) => void;
  /** Between tries of loading it again; default SERVER_RETRY. */
  readonly retry?: BackoffOptions;
}

export class PodRecovery<P extends RecoverablePod> {
  readonly #options: PodRecoveryOptions<P>;
  readonly #recovering = new Set<P>();
  readonly #stop = new AbortController();

  constructor(options: PodRecoveryOptions<P>) {
    this.#options = options;
  }

  /** Whether the pod is being brought back (unloaded, waiting for its server). */
  isRecovering(pod: P): boolean {
    return this.#recovering.has(pod);
  }

  /** The pod's server is gone: unload it now and bring it back once the server answers. Once at a time. */
  lost(pod: P, error: unknown): void {
    if (this.#recovering.has(pod) || this.#stop.signal.aborted) return;
    this.#recovering.add(pod);
    this.#options.onLost?.(pod, error);
    void this.#recover(pod).finally(() => this.#recovering.delete(pod));
  }

  /** Stops bringing pods back (the miner stops). */
  stop(): void {
    this.#stop.abort();
  }

  async #recover(pod: P): Promise<void> {
    const lostAt = Date.now();
    const { signal } = this.#stop;
    // Its running jobs fail at once against a server that is gone; the unload waits for them.
    await pod.unload().catch(() => undefined);
    this.#options.onChange();
    for (let tries = 0; !signal.aborted && this.#options.isHosted(pod); tries++) {
      try {
        const delay = backoffDelay(tries, this.#options.retry ?? SERVER_RETRY, NO_JITTER);
        await sleep(delay, undefined, { signal, ref: false });
        await pod.load();
        this.#options.onChange();
        this.#options.onBack?.(pod, Date.now() - lostAt);
        return;
      } catch {
        // Not back yet: the next try waits longer.
      }
    }
  }
}
