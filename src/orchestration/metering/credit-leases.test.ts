// How a lease is sized when it is renewed under a steady stream of one payer's jobs.

import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteStore } from '../store/pglite-store.ts';
import type { Store } from '../store/store.ts';
import { CreditLeases } from './credit-leases.ts';
import { settableCredits } from './testing/metering-fixture.ts';

const JOB = 60n;
const LEASE_JOBS = 32;

describe('CreditLeases', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openPgliteStore(undefined, { vacuum: false });
  });
  afterAll(async () => {
    await store?.close();
  });

  /** Leases whose store writes wait for `open()`: a renewal queued behind other writes. */
  function leasesBehindAQueue(credits: ReturnType<typeof settableCredits>) {
    let open: () => void = () => undefined;
    let gate = Promise.resolve();
    const leases = new CreditLeases({
      store,
      credits,
      holder: `router-${Math.random()}`,
      serial: async (fn) => {
        await gate;
        return fn();
      },
      ttlMs: 60_000,
      revalidateMs: 60_000,
      leaseJobs: LEASE_JOBS,
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
});
