// The journal's background fdatasync in 'os' mode: appends are written to the page cache at once, and this
// keeps one fdatasync running for as long as a written file has unsynced data, so what a power loss can take
// is the last sync window. Lines written during one fdatasync are covered by the next.
import type { FileHandle } from 'node:fs/promises';

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class BackgroundDatasync {
  readonly #failed: (cause: unknown) => void;
  readonly #dirty = new Set<FileHandle>();
  #written = 0;
  #synced = 0;
  #running = false;
  #done: Promise<void> = Promise.resolve();
  #waiters: Waiter[] = [];

  /** `failed` hears of a failed fdatasync, after which nothing is synced any more. */
  constructor(failed: (cause: unknown) => void) {
    this.#failed = failed;
  }

  /** `handle` was just written to: sync it soon. */
  wrote(handle: FileHandle): void {
    this.#dirty.add(handle);
    this.#written += 1;
    if (this.#running) return;
    this.#running = true;
    // Started on the next turn of the event loop, not inside the write's caller: handing an fdatasync to
    // the thread pool costs the calling thread 10-50 µs here (waking a pool thread), which would otherwise
    // sit on the path of the job whose charge was just journaled, before its answer is written.
    this.#done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#run());
  }

  /** `handle` is about to close: its data is no longer needed (its records are stored elsewhere). */
  forget(handle: FileHandle): void {
    this.#dirty.delete(handle);
  }

  /** Resolves once every write reported so far is synced (or its file forgotten). */
  synced(): Promise<void> {
    if (this.#synced >= this.#written) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ upTo: this.#written, resolve, reject }));
  }

  /** Resolves once no fdatasync runs; never rejects. */
  idle(): Promise<void> {
    return this.#done;
  }

  /** Rejects whoever waits in `synced()`: the journal stopped. */
  abandon(error: unknown): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        const upTo = this.#written;
        const round = [...this.#dirty];
        for (const handle of round) {
          // Forgotten meanwhile: closed, or closing; an fdatasync now would fail for nothing.
          if (!this.#dirty.delete(handle)) continue;
          await handle.datasync();
        }
        this.#synced = upTo;
        while ((this.#waiters[0]?.upTo ?? Number.POSITIVE_INFINITY) <= upTo) this.#waiters.shift()?.resolve();
        if (round.length === 0) return;
      }
    } catch (cause) {
      this.#failed(cause);
    } finally {
      this.#running = false;
    }
  }
}
