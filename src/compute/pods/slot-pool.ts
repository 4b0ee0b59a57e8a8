import { abortError, PodNotLoadedError } from './errors.ts';

interface Waiter<T> {
  resolve(slot: T): void;
  reject(error: Error): void;
}

/**
 * A fixed set of slots (context sequences) shared by concurrent jobs. Jobs beyond the free slots wait
 * in arrival order; a waiting job whose signal fires leaves the queue with PodAbortedError.
 */
export class SlotPool<T> {
  private readonly free: T[];
  private readonly waiters: Waiter<T>[] = [];
  private closedWith: Error | undefined;
  readonly size: number;

  constructor(slots: readonly T[]) {
    if (slots.length === 0) throw new RangeError('a slot pool needs at least one slot');
    this.free = [...slots];
    this.size = slots.length;
  }

  get busy(): number {
    return this.size - this.free.length;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Runs `job` with a slot and gives the slot back however the job ends. With `prefer`, the free slot it
   * scores highest (the first of equals); a waiting job takes the slot freed next, whichever it is.
   */
  async run<R>(
    signal: AbortSignal | undefined,
    job: (slot: T) => Promise<R>,
    prefer?: (slot: T) => number,
  ): Promise<R> {
    const slot = await this.acquire(signal, prefer);
    try {
      return await job(slot);
    } finally {
      this.release(slot);
    }
  }

  acquire(signal?: AbortSignal, prefer?: (slot: T) => number): Promise<T> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const slot = this.free.splice(prefer === undefined ? 0 : bestIndex(this.free, prefer), 1)[0];
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index !== -1) this.waiters.splice(index, 1);
        if (signal !== undefined) reject(abortError(signal));
      };
      const waiter: Waiter<T> = {
        resolve: (s) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(s);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(slot: T): void {
    const next = this.waiters.shift();
    if (next !== undefined) next.resolve(slot);
    else this.free.push(slot);
  }

  /** Rejects every waiting job and all later acquisitions (the runtime is unloading). */
  close(error: Error = new PodNotLoadedError('Pod runtime was unloaded')): void {
    this.closedWith = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

function bestIndex<T>(slots: readonly T[], score: (slot: T) => number): number {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const [index, slot] of slots.entries()) {
    const value = score(slot);
    if (value > bestScore) [best, bestScore] = [index, value];
  }
  return best;
}
