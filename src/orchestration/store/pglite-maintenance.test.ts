import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  MAINTENANCE_STATEMENTS,
  PgliteMaintenance,
  type PgliteMaintenanceOptions,
} from './pglite-maintenance.ts';
import { openPgliteStore } from './pglite-store.ts';
import type { Store } from './store.ts';

describe('PgliteMaintenance', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A store where each statement takes `tookMs` of (fake) time; records each one and when it starts. */
  function fakeStore(tookMs: number, fail = false) {
    const calls: Array<[string, number]> = [];
    const query = async (sql: string) => {
      calls.push([sql, performance.now()]);
      await new Promise((resolve) => setTimeout(resolve, tookMs));
      if (fail) throw new Error('store closed');
    };
    const starts = () => calls.filter(([sql]) => sql === 'vacuum').map(([, at]) => at);
    return { calls, starts, query };
  }
  const fakeTime = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });

  it('vacuums, then checkpoints', async () => {
    fakeTime();
    const { calls, query } = fakeStore(150);
    const maintenance = new PgliteMaintenance(query, { minIntervalMs: 1_000 });
    await vi.advanceTimersByTimeAsync(1_300);
    expect(calls).toEqual([
      ['vacuum', 1_000],
      ['checkpoint', 1_150],
    ]);
    expect(MAINTENANCE_STATEMENTS).toEqual(['vacuum', 'checkpoint']);
    maintenance.stop();
  });

  it('waits the minimum interval, then spaces runs so maintenance takes at most its share of the time', async () => {
    fakeTime();
    const { starts, query } = fakeStore(150);
    const maintenance = new PgliteMaintenance(query, { minIntervalMs: 1_000, maxShare: 0.01 });
    await vi.advanceTimersByTimeAsync(999);
    expect(starts()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts()).toEqual([1_000]);
    // The run took 300 ms: at 1 % of the time, the next one starts 30 s after it ended.
    await vi.advanceTimersByTimeAsync(300 + 29_999);
    expect(starts()).toHaveLength(1);
    expect(maintenance.runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts()).toEqual([1_000, 31_300]);
    maintenance.stop();
  });

  it('keeps the minimum interval when a run is quick', async () => {
    fakeTime();
    const { starts, query } = fakeStore(1);
    const maintenance = new PgliteMaintenance(query, { minIntervalMs: 1_000 });
    await vi.advanceTimersByTimeAsync(3_100);
    expect(starts()).toEqual([1_000, 2_002, 3_004]);
    maintenance.stop();
  });

  it('reports each failed statement, runs the next one, and goes on', async () => {
    fakeTime();
    const { calls, query } = fakeStore(1, true);
    const errors: Array<[string, string]> = [];
    const maintenance = new PgliteMaintenance(query, {
      minIntervalMs: 100,
      onError: (error, statement) => errors.push([(error as Error).message, statement]),
    });
    // Runs at 100 and (2 ms of work at 1 %) 302.
    await vi.advanceTimersByTimeAsync(400);
    expect(calls.map(([sql]) => sql)).toEqual(['vacuum', 'checkpoint', 'vacuum', 'checkpoint']);
    expect(errors).toEqual([
      ['store closed', 'vacuum'],
      ['store closed', 'checkpoint'],
      ['store closed', 'vacuum'],
      ['store closed', 'checkpoint'],
    ]);
    maintenance.stop();
  });

  it('starts nothing once stopped, and a statement cut short by the stop is not reported', async () => {
    fakeTime();
    const { calls, query } = fakeStore(50, true);
    const errors: unknown[] = [];
    const maintenance = new PgliteMaintenance(query, {
      minIntervalMs: 100,
      onError: (error) => errors.push(error),
    });
    await vi.advanceTimersByTimeAsync(100);
    maintenance.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.map(([sql]) => sql)).toEqual(['vacuum']);
    expect(errors).toEqual([]);
  });

  it('refuses intervals and shares that make no sense', () => {
    const query = async () => undefined;
    expect(() => new PgliteMaintenance(query, { minIntervalMs: 0 })).toThrow(RangeError);
    expect(() => new PgliteMaintenance(query, { maxShare: 0 })).toThrow(RangeError);
    expect(() => new PgliteMaintenance(query, { maxShare: 1.5 })).toThrow(RangeError);
    expect(() => new PgliteMaintenance(query, { minIntervalMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('a PGlite store maintains itself', () => {
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
  async function churnedStore(maintenance: PgliteMaintenanceOptions | false): Promise<Store> {
    const store = await openPgliteStore(undefined, { maintenance });
    stores.push(store);
    await store.query('create table churn (id integer primary key, payload text not null)');
    await store.query(`insert into churn select g, repeat('x', 200) from generate_series(1, ${ROWS}) g`);
    await store.query("update churn set payload = repeat('y', 200)");
    return store;
  }

  it('so that the space of dead rows is used again instead of growing the table', async () => {
    // Frequent runs (no share limit): one may even come between the churn's statements.
    const vacuumed = await churnedStore({ minIntervalMs: 20, maxShare: 1 });
    // Statements run one at a time: a vacuum that ended after the churn ran after its update (a
    // millisecond past the churn, as Date.now() is rounded down).
    const churned = Date.now() + 1;
    const vacuumedSince = async () => {
      const at = await lastVacuum(vacuumed);
      return at !== null && new Date(at as string | Date).getTime() >= churned;
    };
    while (!(await vacuumedSince())) await new Promise((resolve) => setTimeout(resolve, 20));
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

  it('and checkpoints, so the write-ahead log before the last checkpoint can be recycled', async () => {
    // An LSN reads 'high/low', each part hexadecimal.
    const redo = async (store: Store) => {
      const [row] = await store.query<{ redo: unknown }>(
        'select redo_lsn as redo from pg_control_checkpoint()',
      );
      const [high = '0', low = '0'] = String(row?.redo).split('/');
      return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
    };
    const store = await churnedStore(false);
    const unmaintained = await redo(store);
    await store.query("update churn set payload = repeat('z', 200)");
    // No checkpointer: without maintenance the redo point never moves.
    expect(await redo(store)).toBe(unmaintained);

    const maintained = await churnedStore({ minIntervalMs: 20, maxShare: 1 });
    const start = await redo(maintained);
    while ((await redo(maintained)) === start) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await redo(maintained)).toBeGreaterThan(start);
  });
});

describe('openPgliteStore with bad maintenance options', () => {
  it('refuses them at open', async () => {
    await expect(openPgliteStore(undefined, { maintenance: { minIntervalMs: -1 } })).rejects.toThrow(
      RangeError,
    );
  });
});
