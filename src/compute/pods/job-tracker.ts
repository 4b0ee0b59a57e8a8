import { PodAbortedError, type PodError, throwIfAborted } from './errors.ts';

/**
 * The jobs a runtime is running. Each job gets its own signal that fires when the caller aborts (with
 * PodAbortedError) or when the runtime stops them all on unload (with the reason given).
 */
export class JobTracker {
  private readonly jobs = new Map<AbortController, Promise<unknown>>();

  get active(): number {
    return this.jobs.size;
  }

  async run<R>(signal: AbortSignal | undefined, job: (signal: AbortSignal) => Promise<R>): Promise<R> {
    throwIfAborted(signal);
    const controller = new AbortController();
    const onAbort = () => controller.abort(new PodAbortedError('Job aborted', { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    const running = (async () => job(controller.signal))();
    this.jobs.set(
      controller,
      running.catch(() => undefined),
    );
    try {
      return await running;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.jobs.delete(controller);
    }
  }

  /** Aborts every running job with `reason` and waits until all have settled. */
  async stopAll(reason: PodError): Promise<void> {
    for (const controller of this.jobs.keys()) controller.abort(reason);
    await Promise.all(this.jobs.values());
  }
}
