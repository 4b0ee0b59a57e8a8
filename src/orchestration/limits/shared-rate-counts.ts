// Rate-limit counts shared by every router of one PostgreSQL server, so a limit of N a minute means N
// across all of them, not N per router. Each router counts in memory and adds its new hits to the store
// about once a second (one statement for all of them), learning the totals of the keys it counts as it
// does: a count is the total as last synced plus this router's hits since. Between syncs other routers'
// hits are not seen yet, so a burst split over several routers can pass the limit by what they take in a
// second. Windows are whole minutes of the clock (fixed windows every router agrees on, within their
// clocks' skew); rows of ended windows are deleted. When the store cannot be reached, each router goes on with what it knows.
import { numberOf, textArrayOf } from '../store/sql-values.ts';
import type { Store } from '../store/store.ts';

export interface SharedRateCountsOptions {
  /** How often new hits are added to the store and the totals read back (default 1,000 ms). */
  syncMs?: number;
  now?: () => number;
  /** Told when a sync failed (its hits are sent with the next). */
  onSyncError?: (error: unknown) => void;
}

interface Count {
  limiter: string;
  key: string;
  windowStart: number;
  /** The total across routers as of the last sync that included this router's hits. */
  synced: number;
  /** This router's hits not added to the store yet. */
  pending: number;
}

/** Rows of windows that ended this long ago are deleted (at most once a minute). */
const KEEP_ENDED_MS = 120_000;

export class SharedRateCounts {
  readonly #store: Store;
  readonly #syncMs: number;
  readonly #now: () => number;
  readonly #onSyncError: (error: unknown) => void;
  readonly #counts = new Map<string, Count>();
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #nextCleanup = 0;

  constructor(store: Store, options: SharedRateCountsOptions = {}) {
    this.#store = store;
    this.#syncMs = options.syncMs ?? 1_000;
    this.#now = options.now ?? Date.now;
    this.#onSyncError = options.onSyncError ?? (() => {});
  }

  /** Counts one hit of `key` by `limiter` in this minute: the count so far, and when the minute ends. */
  hit(limiter: string, key: string): RateCount {
    const windowStart = minuteOf(this.#now());
    const count = this.#count(limiter, key, windowStart, true);
    count.pending++;
    return { current: count.synced + count.pending, resetAt: windowStart + MINUTE_MS };
  }

  /** The count of `key` by `limiter` in this minute, without a hit. */
  peek(limiter: string, key: string): RateCount {
    const windowStart = minuteOf(this.#now());
    const count = this.#count(limiter, key, windowStart, false);
    const current = count === undefined ? 0 : count.synced + count.pending;
    return { current, resetAt: windowStart + MINUTE_MS };
  }

  /** Syncs every `syncMs` until `stop`. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.sync().catch(this.#onSyncError);
    }, this.#syncMs);
    this.#timer.unref();
  }

  /** Stops syncing, after sending the hits not sent yet. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    // A sync under way may have begun before the last hits.
    await this.#syncing?.catch(() => {});
    await this.sync().catch(this.#onSyncError);
  }

  /** Adds this router's new hits to the store and reads back their totals; one sync at a time. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    const now = this.#now();
    for (const [id, count] of this.#counts) {
      if (count.pending === 0 && count.windowStart + MINUTE_MS <= now) this.#counts.delete(id);
    }
    const sent = [...this.#counts.values()].filter((count) => count.pending > 0);
    const amounts = sent.map((count) => count.pending);
    if (sent.length > 0) {
      const rows = await this.#store.query<{
        limiter: string;
        key: string;
        window_start: unknown;
        count: number;
      }>(
        `insert into rate_windows as w (limiter, key, window_start, count)
         select * from unnest($1::text[], $2::text[], $3::bigint[], $4::integer[])
         on conflict (limiter, key, window_start) do update set count = w.count + excluded.count
         returning limiter, key, window_start, count`,
        [
          textArrayOf(sent.map((c) => c.limiter)),
          textArrayOf(sent.map((c) => c.key)),
          `{${sent.map((c) => c.windowStart).join(',')}}`,
          `{${amounts.join(',')}}`,
        ],
      );
      const totals = new Map(
        rows.map((row) => [countId(row.limiter, row.key, numberOf(row.window_start)), Number(row.count)]),
      );
      for (const [i, count] of sent.entries()) {
        const amount = amounts[i] ?? 0;
        count.pending -= amount;
        count.synced =
          totals.get(countId(count.limiter, count.key, count.windowStart)) ?? count.synced + amount;
      }
    }
    if (now >= this.#nextCleanup) {
      this.#nextCleanup = now + MINUTE_MS;
      await this.#store.query('delete from rate_windows where window_start < $1', [now - KEEP_ENDED_MS]);
    }
  }

  #count(limiter: string, key: string, windowStart: number, create: true): Count;
  #count(limiter: string, key: string, windowStart: number, create: false): Count | undefined;
  #count(limiter: string, key: string, windowStart: number, create: boolean): Count | undefined {
    const id = countId(limiter, key, windowStart);
    let count = this.#counts.get(id);
    if (count === undefined && create) {
      count = { limiter, key, windowStart, synced: 0, pending: 0 };
      this.#counts.set(id, count);
    }
    return count;
  }
}

const MINUTE_MS = 60_000;

export interface RateCount {
  /** Hits in the minute, across routers as this one knows them. */
  current: number;
  /** When the minute ends (ms). */
  resetAt: number;
}

function minuteOf(now: number): number {
  return now - (now % MINUTE_MS);
}

function countId(limiter: string, key: string, windowStart: number): string {
  return `${limiter}\u0000${windowStart}\u0000${key}`;
}
