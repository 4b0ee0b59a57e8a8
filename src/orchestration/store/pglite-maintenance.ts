// PGlite runs PostgreSQL in single-user mode: no autovacuum and no checkpointer run beside it, so what they
// do on a server has to be asked for. Measured with the router's own writes (receipts ingested in
// batches, cut into settlement batches, marked settled):
// - VACUUM: every UPDATE and DELETE leaves its dead row version in place for good, and a receipt is
//   written once and updated twice, so 80,000 settled receipts took 250 MB of table and indexes instead
//   of 113 MB with a VACUUM after each batch. A plain VACUUM makes that space reusable (files do not
//   shrink).
// - CHECKPOINT: without one the write-ahead log is never recycled: pg_wal grew by about 60 MB per
//   10,000 receipts without bound (900 MB after 160,000), and stays near 84 MB with one after each batch.
// Both took tens of milliseconds there.
//
// When: at least `minIntervalMs` apart, and spaced so that maintenance takes at most `maxShare` of the
// store's time. A VACUUM that removes dead rows scans every index of the table whole, so on a large store
// it takes longer; spacing by the last run's duration keeps the cost bounded, as autovacuum's scale factor
// does, without counters PGlite does not keep up to date.

export interface PgliteMaintenanceOptions {
  /** The soonest the next run starts after the last one (default one minute). */
  minIntervalMs?: number;
  /** The largest share of the time spent on maintenance (default 1 %). */
  maxShare?: number;
  /** A statement failed (the store is closing, or broken); the next run is still scheduled. */
  onError?: (error: unknown, statement: string) => void;
}

export const DEFAULT_MAINTENANCE_INTERVAL_MS = 60_000;
const DEFAULT_MAX_SHARE = 0.01;
/** In this order: the checkpoint also writes out the pages the vacuum changed. */
export const MAINTENANCE_STATEMENTS = ['vacuum', 'checkpoint'] as const;

export class PgliteMaintenance {
  readonly #query: (sql: string) => Promise<unknown>;
  readonly #minIntervalMs: number;
  readonly #maxShare: number;
  readonly #onError: ((error: unknown, statement: string) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #runs = 0;

  /** `query` runs one statement on the store, after the transactions running or queued. */
  constructor(query: (sql: string) => Promise<unknown>, options: PgliteMaintenanceOptions = {}) {
    this.#query = query;
    this.#minIntervalMs = options.minIntervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS;
    this.#maxShare = options.maxShare ?? DEFAULT_MAX_SHARE;
    this.#onError = options.onError;
    if (!(this.#minIntervalMs > 0) || !(this.#maxShare > 0 && this.#maxShare <= 1)) {
      throw new RangeError('PGlite maintenance needs minIntervalMs > 0 and maxShare in (0, 1]');
    }
    this.#schedule(this.#minIntervalMs);
  }

  /** Runs so far (finished, whether or not their statements succeeded). */
  get runs(): number {
    return this.#runs;
  }

  /** No run starts after this; a statement already running finishes (the store's close waits for it). */
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
    for (const statement of MAINTENANCE_STATEMENTS) {
      if (this.#stopped) return;
      try {
        await this.#query(statement);
      } catch (error) {
        if (!this.#stopped) this.#onError?.(error, statement);
      }
    }
    this.#runs++;
    // Waiting for the store's queue counts too: a busy store is maintained less often.
    const tookMs = performance.now() - started;
    this.#schedule(Math.max(this.#minIntervalMs, tookMs / this.#maxShare));
  }
}
