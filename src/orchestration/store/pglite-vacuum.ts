// PGlite runs PostgreSQL in single-user mode, where no autovacuum runs: every UPDATE and DELETE leaves its
// dead row version in place for good. A receipt is written once and updated twice (cut into a batch, then
// marked settled), so its table grew by about three row versions per receipt: measured, 80,000 settled
// receipts took 250 MB instead of 113 MB with a VACUUM after each batch, and the waste kept growing. This
// runs a plain VACUUM now and then, which makes that space reusable (it does not shrink the files).
//
// When: at least `minIntervalMs` apart, and spaced so that vacuuming takes at most `maxShare` of the
// store's time. A VACUUM that removes dead rows scans every index of the table whole, so on a large
// store it takes longer; spacing by its last duration keeps the cost bounded, as autovacuum's
// scale factor does, without counters PGlite does not keep up to date.

export interface PeriodicVacuumOptions {
  /** The soonest the next VACUUM starts after the last one (default one minute). */
  minIntervalMs?: number;
  /** The largest share of the time spent vacuuming (default 1 %). */
  maxShare?: number;
  /** A VACUUM failed (the store is closing, or broken); the next one is still scheduled. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_VACUUM_INTERVAL_MS = 60_000;
const DEFAULT_MAX_SHARE = 0.01;

export class PeriodicVacuum {
  readonly #query: (sql: string) => Promise<unknown>;
  readonly #minIntervalMs: number;
  readonly #maxShare: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #runs = 0;

  /** `query` runs one statement on the store, after the transactions running or queued. */
  constructor(query: (sql: string) => Promise<unknown>, options: PeriodicVacuumOptions = {}) {
    this.#query = query;
    this.#minIntervalMs = options.minIntervalMs ?? DEFAULT_VACUUM_INTERVAL_MS;
    this.#maxShare = options.maxShare ?? DEFAULT_MAX_SHARE;
    this.#onError = options.onError;
    if (!(this.#minIntervalMs > 0) || !(this.#maxShare > 0 && this.#maxShare <= 1)) {
      throw new RangeError('a periodic VACUUM needs minIntervalMs > 0 and maxShare in (0, 1]');
    }
    this.#schedule(this.#minIntervalMs);
  }

  /** VACUUMs run so far (finished, whether or not they succeeded). */
  get runs(): number {
    return this.#runs;
  }

  /** No VACUUM starts after this; one already running finishes (the store's close waits for it). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), ms);
    // Maintenance never keeps a process alive.
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    const started = performance.now();
    try {
      await this.#query('vacuum');
    } catch (error) {
      if (!this.#stopped) this.#onError?.(error);
    }
    this.#runs++;
    // Waiting for the store's queue counts too: a busy store is vacuumed less often.
    const tookMs = performance.now() - started;
    this.#schedule(Math.max(this.#minIntervalMs, tookMs / this.#maxShare));
  }
}
