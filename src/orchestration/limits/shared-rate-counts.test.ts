// Rate-limit counts shared through the store, on both stores: two routers' hits add up once each has
// synced; a new minute starts again; ended minutes are deleted; a failed sync keeps its hits for the next;
// any key survives the trip; stopping sends what is left.
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import type { Store } from '../store/store.ts';
import { SharedRateCounts } from './shared-rate-counts.ts';

const MINUTE = 60_000;

describe.each(storeBackends())('SharedRateCounts on $kind', (backend) => {
  const db = freshStoreFor(backend);
  let store: Store;
  let now = 0;
  const clock = () => now;

  beforeAll(() => {
    store = db.store;
  });

  it("adds up two routers' hits once each has synced, and starts again each minute", async () => {
    now = 1_000 * MINUTE + 5_000;
    const a = new SharedRateCounts(store, { now: clock });
    const b = new SharedRateCounts(store, { now: clock });
    expect([1, 2, 3].map(() => a.hit('per-key', 'k1').current)).toEqual([1, 2, 3]);
    // B has not heard of A's hits yet.
    expect(b.hit('per-key', 'k1')).toEqual({ current: 1, resetAt: 1_001 * MINUTE });
    expect(b.hit('per-key', 'k1').current).toBe(2);
    await a.sync();
    await b.sync();
    expect(b.peek('per-key', 'k1').current).toBe(5);
    expect(a.peek('per-key', 'k1').current).toBe(3);
    expect(a.hit('per-key', 'k1').current).toBe(4);
    await a.sync();
    expect(a.peek('per-key', 'k1').current).toBe(6);
    // Other limiters and keys count apart.
    expect(a.hit('invalid-keys', 'k1').current).toBe(1);
    expect(a.peek('per-key', 'k2').current).toBe(0);

    now += MINUTE;
    expect(a.hit('per-key', 'k1')).toEqual({ current: 1, resetAt: 1_002 * MINUTE });
  });

  it('deletes the rows of ended minutes', async () => {
    now = 2_000 * MINUTE;
    const a = new SharedRateCounts(store, { now: clock });
    a.hit('per-key', 'old');
    await a.sync();
    now += 3 * MINUTE;
    a.hit('per-key', 'new');
    await a.sync();
    const rows = await store.query<{ key: string }>(
      "select key from rate_windows where key in ('old', 'new') order by key",
    );
    expect(rows.map((r) => r.key)).toEqual(['new']);
  });

  it('keeps the hits of a failed sync for the next, and sends what is left when it stops', async () => {
    now = 3_000 * MINUTE;
    let fail = true;
    const flaky: Store = {
      ...store,
      kind: store.kind,
      query: (sql, params) =>
        fail ? Promise.reject(new Error('connection lost')) : store.query(sql, params),
    };
    const errors: unknown[] = [];
    const a = new SharedRateCounts(flaky, { now: clock, onSyncError: (e) => errors.push(e) });
    const b = new SharedRateCounts(store, { now: clock });
    a.hit('per-key', 'flaky');
    a.hit('per-key', 'flaky');
    await expect(a.sync()).rejects.toThrow('connection lost');
    expect(a.peek('per-key', 'flaky').current).toBe(2);
    fail = false;
    a.hit('per-key', 'flaky');
    await a.stop();
    expect(errors).toEqual([]);
    expect(b.hit('per-key', 'flaky').current).toBe(1);
    await b.sync();
    expect(b.peek('per-key', 'flaky').current).toBe(4);
  });

  it('carries any key through the store as it is', async () => {
    now = 4_000 * MINUTE;
    const keys = ['a"b', 'c\\d', 'e,f', '{g}', 'ü 𝄞', 'NULL', ''];
    const a = new SharedRateCounts(store, { now: clock });
    const b = new SharedRateCounts(store, { now: clock });
    for (const key of keys) a.hit('per-key', key);
    await a.sync();
    for (const key of keys) b.hit('per-key', key);
    await b.sync();
    expect(keys.map((key) => b.peek('per-key', key).current)).toEqual(keys.map(() => 2));
  });
});
