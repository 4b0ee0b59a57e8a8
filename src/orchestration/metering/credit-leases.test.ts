// How a lease is renewed under a steady stream of one payer's jobs: sized for the jobs to come, and ahead
// of need in the background, without a reservation granted from room the renewed lease no longer has.

import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPgliteStore } from '../store/pglite-store.ts';
import type { Store } from '../store/store.ts';
import { CreditLeases } from './credit-leases.ts';
import { settableCredits } from './testing/metering-fixture.ts';

const JOB = 60n;
const LEASE_JOBS = 32;

describe('CreditLeases', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openPgliteStore(undefined, { maintenance: false });
  });
  afterAll(async () => {
    await store?.close();
  });

  /** Leases of a fresh holder (revalidated every minute) whose store writes go through `serial`. */
  function leasesOver(
    db: Store,
    credits: ReturnType<typeof settableCredits>,
    serial: <T>(fn: () => Promise<T>) => Promise<T>,
  ): CreditLeases {
    return new CreditLeases({
      store: db,
      credits,
      holder: `router-${Math.random()}`,
      serial,
      ttlMs: 60_000,
      revalidateMs: 60_000,
      leaseJobs: LEASE_JOBS,
    });
  }

  /** Leases whose store writes wait for `open()`: a renewal queued behind other writes. */
  function leasesBehindAQueue(credits: ReturnType<typeof settableCredits>) {
    let open: () => void = () => undefined;
    let gate = Promise.resolve();
    const leases = leasesOver(store, credits, async (fn) => {
      await gate;
      return fn();
    });
    return {
      leases,
      close: () => {
        gate = new Promise<void>((resolve) => {
          open = resolve;
        });
      },
      open: () => open(),
    };
  }

  const payerAccount = (n: number) => privateKeyToAccount(`0x${n.toString(16).padStart(64, '0')}`).address;

  it('leaves room for the jobs that ended while a renewal waited its turn, so it does not run short at once', async () => {
    const credits = settableCredits();
    const payer = payerAccount(101);
    credits.set(payer, 1_000_000n);
    const { leases, close, open } = leasesBehindAQueue(credits);
    // A full lease: 32 jobs in flight, the lease sized for exactly them.
    for (let i = 0; i < LEASE_JOBS; i++) expect(await leases.hold(payer, JOB)).toEqual({ ok: true });
    const lease = leases.lease(payer);
    if (lease === undefined) throw new Error('no lease');
    expect(lease.amount).toBe(JOB * BigInt(LEASE_JOBS));
    // One job ends and was charged (its charge not stored yet); the next one finds the lease short by that.
    lease.held -= JOB;
    lease.pending += 1n;
    close();
    const asked = leases.hold(payer, JOB);
    // While the renewal waits behind the store's queue, every other running job ends.
    lease.held = 0n;
    open();
    expect(await asked).toEqual({ ok: true });
    // Room for the job that asked, 31 more like it, and the 31 that ended meanwhile (soon replaced).
    expect(lease.amount).toBe(1n + JOB + JOB * 31n + JOB * 31n);
    // So the 31 replacements and 31 more are granted without another renewal.
    for (let i = 0; i < 62; i++) expect(await leases.hold(payer, JOB)).toEqual({ ok: true });
    expect(lease.amount).toBe(1n + JOB * 63n);
  });

  it('still takes at most half of what the payer has left', async () => {
    const credits = settableCredits();
    const payer = payerAccount(102);
    credits.set(payer, 10n * JOB);
    const { leases, close, open } = leasesBehindAQueue(credits);
    for (let i = 0; i < 4; i++) expect(await leases.hold(payer, JOB)).toEqual({ ok: true });
    const lease = leases.lease(payer);
    if (lease === undefined) throw new Error('no lease');
    // The first renewal took 1 job + half of the 9 left (4.5): 5.5 jobs' worth; four are held.
    expect(lease.amount).toBe(JOB + (9n * JOB) / 2n);
    close();
    lease.held = 4n * JOB;
    const asked = leases.hold(payer, 2n * JOB);
    lease.held = 0n;
    open();
    expect(await asked).toEqual({ ok: true });
    // Covered now: nothing; the drained 4 jobs would ask for more, but half the rest is the cap.
    expect(lease.amount).toBe(2n * JOB + (8n * JOB) / 2n);
  });

  /** Leases over a store whose credit_leases writes wait for `release()` once `pause()` was called. */
  function leasesWithPausableWrite(credits: ReturnType<typeof settableCredits>) {
    let paused: Promise<void> | undefined;
    let release: () => void = () => undefined;
    let reachedWrite: () => void = () => undefined;
    let atWrite = new Promise<void>((resolve) => {
      reachedWrite = resolve;
    });
    const pausable: Store = {
      ...store,
      query: store.query.bind(store),
      close: store.close.bind(store),
      transaction: (fn) =>
        store.transaction((tx) =>
          fn({
            query: async (sql, params) => {
              if (sql.includes('insert into credit_leases') && paused !== undefined) {
                reachedWrite();
                await paused;
              }
              return tx.query(sql, params);
            },
          }),
        ),
    };
    let inFlight = 0;
    let maxInFlight = 0;
    let renewals = 0;
    const leases = leasesOver(pausable, credits, async (fn) => {
      renewals++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await fn();
      } finally {
        inFlight--;
      }
    });
    return {
      leases,
      pause: () => {
        paused = new Promise<void>((resolve) => {
          release = resolve;
        });
        atWrite = new Promise<void>((resolve) => {
          reachedWrite = resolve;
        });
      },
      atWrite: () => atWrite,
      release: () => {
        paused = undefined;
        release();
      },
      stats: () => ({ renewals, maxInFlight }),
    };
  }

  /** Settles within a few turns of the event loop, or reports that it is still waiting. */
  async function settledSoon<T>(promise: Promise<T>): Promise<{ settled: boolean; value?: T }> {
    let outcome: { settled: boolean; value?: T } = { settled: false };
    void promise.then((value) => {
      outcome = { settled: true, value };
    });
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    return outcome;
  }

  const leaseRow = async (payer: string) =>
    (
      await store.query<{ amount: unknown }>('select amount from credit_leases where payer = $1', [payer])
    ).map((row) => BigInt(String(row.amount)));

  it('renews an aging lease in the background, granting reservations meanwhile, and holds them off only for its last write', async () => {
    const credits = settableCredits();
    const payer = payerAccount(103);
    credits.set(payer, 1_000_000n);
    const { leases, pause, atWrite, release, stats } = leasesWithPausableWrite(credits);
    expect(await leases.hold(payer, JOB)).toEqual({ ok: true });
    const lease = leases.lease(payer);
    if (lease === undefined) throw new Error('no lease');
    const firstCheck = lease.checkedAt;
    pause();
    // Three quarters of revalidateMs later: granted at once, and a renewal starts behind it.
    const aging = firstCheck + 46_000;
    expect(await leases.hold(payer, JOB, aging)).toEqual({ ok: true });
    expect(lease.refreshing).toBeDefined();
    await atWrite();
    // The renewal is at its last write: a reservation now waits for its commit.
    const during = leases.hold(payer, JOB, aging + 1);
    expect((await settledSoon(during)).settled).toBe(false);
    release();
    expect(await during).toEqual({ ok: true });
    await lease.refreshing;
    expect(lease.checkedAt).toBeGreaterThan(firstCheck);
    expect(lease.held).toBe(3n * JOB);
    // Renewed with two held: room for 32 more; the row says what the router holds.
    expect(lease.amount).toBe(2n * JOB + BigInt(LEASE_JOBS) * JOB);
    expect(await leaseRow(payer)).toEqual([lease.amount]);
    expect(lease.held + lease.pending).toBeLessThanOrEqual(lease.amount);
    expect(stats()).toEqual({ renewals: 2, maxInFlight: 1 });
  });

  it('grants from the current lease while a renewal ahead of need waits its turn', async () => {
    const credits = settableCredits();
    const payer = payerAccount(104);
    credits.set(payer, 1_000_000n);
    const { leases, close, open } = leasesBehindAQueue(credits);
    expect(await leases.hold(payer, JOB)).toEqual({ ok: true });
    const lease = leases.lease(payer);
    if (lease === undefined) throw new Error('no lease');
    close();
    const aging = lease.checkedAt + 46_000;
    // Every one granted at once though the renewal cannot run yet.
    for (let i = 0; i < 10; i++) {
      expect(await settledSoon(leases.hold(payer, JOB, aging))).toEqual({
        settled: true,
        value: { ok: true },
      });
    }
    open();
    await lease.refreshing;
    expect(lease.held).toBe(11n * JOB);
    expect(lease.amount).toBeGreaterThanOrEqual(lease.held + BigInt(LEASE_JOBS) * JOB);
  });

  it('never runs two renewals of one lease at once: a stale lease waits for the renewal ahead, then renews', async () => {
    const credits = settableCredits();
    const payer = payerAccount(105);
    credits.set(payer, 1_000_000n);
    const { leases, pause, atWrite, release, stats } = leasesWithPausableWrite(credits);
    expect(await leases.hold(payer, JOB)).toEqual({ ok: true });
    const lease = leases.lease(payer);
    if (lease === undefined) throw new Error('no lease');
    pause();
    expect(await leases.hold(payer, JOB, lease.checkedAt + 46_000)).toEqual({ ok: true });
    await atWrite();
    const stale = leases.hold(payer, JOB, lease.checkedAt + 61_000);
    expect((await settledSoon(stale)).settled).toBe(false);
    release();
    expect(await stale).toEqual({ ok: true });
    // The first renewal, the one ahead, then the stale lease's own: one after the other.
    expect(stats()).toEqual({ renewals: 3, maxInFlight: 1 });
    expect(lease.held).toBe(3n * JOB);
    expect(await leaseRow(payer)).toEqual([lease.amount]);
  });

  it('keeps the lease as it was when a renewal ahead fails; the reservation that finds it stale hears of it', async () => {
    const credits = settableCredits();
    const payer = payerAccount(106);
    credits.set(payer, 1_000_000n);
    const { leases } = leasesWithPausableWrite(credits);
    expect(await leases.hold(payer, JOB)).toEqual({ ok: true });
    const lease = leases.lease(payer);
    if (lease === undefined) throw new Error('no lease');
    const before = { amount: lease.amount, checkedAt: lease.checkedAt };
    const balanceOf = credits.balanceOf;
    credits.balanceOf = async () => {
      throw new Error('rpc down');
    };
    expect(await leases.hold(payer, JOB, before.checkedAt + 46_000)).toEqual({ ok: true });
    await lease.refreshing;
    expect(lease.refreshing).toBeUndefined();
    expect({ amount: lease.amount, checkedAt: lease.checkedAt }).toEqual(before);
    await expect(leases.hold(payer, JOB, before.checkedAt + 61_000)).rejects.toThrow('rpc down');
    credits.balanceOf = balanceOf;
    expect(await leases.hold(payer, JOB, before.checkedAt + 61_000)).toEqual({ ok: true });
  });

  it('does not renew after every job a lease the payer’s credits keep small', async () => {
    // The leases' clock (Date) moves as the test says; the store's own time does not matter here.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const credits = settableCredits();
      const payer = payerAccount(107);
      credits.set(payer, 8n * JOB);
      const { leases, stats } = leasesWithPausableWrite(credits);
      const start = Date.now();
      expect(await leases.hold(payer, JOB)).toEqual({ ok: true });
      const lease = leases.lease(payer);
      if (lease === undefined) throw new Error('no lease');
      // A job at a time, each ending before the next: always short of room for 8 jobs, yet renewed ahead
      // at most every 6 s (a tenth of revalidateMs), and at 45 s of age.
      for (let ms = 100; ms < 30_000; ms += 100) {
        vi.setSystemTime(start + ms);
        lease.held -= JOB;
        expect(await leases.hold(payer, JOB)).toEqual({ ok: true });
        await lease.refreshing;
      }
      expect(stats().renewals).toBe(1 + 4);
    } finally {
      vi.useRealTimers();
    }
  });
});
