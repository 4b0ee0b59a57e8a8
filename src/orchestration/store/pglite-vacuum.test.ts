import { afterEach, describe, expect, it, vi } from 'vitest';
import { openPgliteStore } from './pglite-store.ts';
import { PeriodicVacuum } from './pglite-vacuum.ts';
import type { Store } from './store.ts';

describe('PeriodicVacuum', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A store whose VACUUM takes `tookMs` of (fake) time, recording when each one starts. */
  function fakeStore(tookMs: number, fail = false) {
    const starts: number[] = [];
    const query = async (sql: string) => {
      expect(sql).toBe('vacuum');
      starts.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, tookMs));
      if (fail) throw new Error('store closed');
    };
    return { starts, query };
  }

  it('waits the minimum interval, then spaces runs so vacuuming takes at most its share of the time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { starts, query } = fakeStore(300);
    const vacuum = new PeriodicVacuum(query, { minIntervalMs: 1_000, maxShare: 0.01 });
    await vi.advanceTimersByTimeAsync(999);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([1_000]);
    // It took 300 ms: at 1 % of the time, the next one starts 30 s after it ended.
    await vi.advanceTimersByTimeAsync(300 + 29_999);
    expect(starts).toHaveLength(1);
    expect(vacuum.runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([1_000, 31_300]);
    vacuum.stop();
  });

  it('keeps the minimum interval when a run is quick', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { starts, query } = fakeStore(2);
    const vacuum = new PeriodicVacuum(query, { minIntervalMs: 1_000 });
    await vi.advanceTimersByTimeAsync(3_100);
    expect(starts).toEqual([1_000, 2_002, 3_004]);
    vacuum.stop();
  });

  it('reports a failed run and goes on', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { starts, query } = fakeStore(0, true);
    const errors: unknown[] = [];
    const vacuum = new PeriodicVacuum(query, { minIntervalMs: 100, onError: (error) => errors.push(error) });
    await vi.advanceTimersByTimeAsync(250);
    expect(starts).toHaveLength(2);
    expect(errors.map((error) => (error as Error).message)).toEqual(['store closed', 'store closed']);
    vacuum.stop();
  });

  it('starts nothing once stopped, and a run cut short by the stop is not reported', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { starts, query } = fakeStore(50, true);
    const errors: unknown[] = [];
    const vacuum = new PeriodicVacuum(query, { minIntervalMs: 100, onError: (error) => errors.push(error) });
    await vi.advanceTimersByTimeAsync(100);
    vacuum.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('refuses intervals and shares that make no sense', () => {
    const query = async () => undefined;
    expect(() => new PeriodicVacuum(query, { minIntervalMs: 0 })).toThrow(RangeError);
    expect(() => new PeriodicVacuum(query, { maxShare: 0 })).toThrow(RangeError);
    expect(() => new PeriodicVacuum(query, { maxShare: 1.5 })).toThrow(RangeError);
    expect(() => new PeriodicVacuum(query, { minIntervalMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('a PGlite store vacuums itself', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  const ROWS = 2_000;
  const heapBytes = async (store: Store) =>
    Number((await store.query<{ size: unknown }>("select pg_relation_size('churn') as size"))[0]?.size);
  const lastVacuum = async (store: Store) =>
    (
      await store.query<{ at: unknown }>(
        "select last_vacuum as at from pg_stat_user_tables where relname = 'churn'",
      )
    )[0]?.at ?? null;

  /** A table whose every row is updated once: as many dead row versions as live ones. */
  async function churnedStore(vacuum: { minIntervalMs: number } | false): Promise<Store> {
    const store = await openPgliteStore(undefined, { vacuum });
    stores.push(store);
    await store.query('create table churn (id integer primary key, payload text not null)');
    await store.query(`insert into churn select g, repeat('x', 200) from generate_series(1, ${ROWS}) g`);
    await store.query("update churn set payload = repeat('y', 200)");
    return store;
  }

  it('so that the space of dead rows is used again instead of growing the table', async () => {
    const vacuumed = await churnedStore({ minIntervalMs: 20 });
    while ((await lastVacuum(vacuumed)) === null) await new Promise((resolve) => setTimeout(resolve, 20));
    const before = await heapBytes(vacuumed);
    await vacuumed.query("update churn set payload = repeat('z', 200)");
    expect(await heapBytes(vacuumed)).toBe(before);

    // Without it, the same update takes new pages for every row.
    const unvacuumed = await churnedStore(false);
    const grown = await heapBytes(unvacuumed);
    await unvacuumed.query("update churn set payload = repeat('z', 200)");
    expect(await heapBytes(unvacuumed)).toBeGreaterThan(grown);
    expect(await lastVacuum(unvacuumed)).toBeNull();
  });
});

describe('openPgliteStore with bad vacuum options', () => {
  it('refuses them at open', async () => {
    await expect(openPgliteStore(undefined, { vacuum: { minIntervalMs: -1 } })).rejects.toThrow(RangeError);
  });
});
