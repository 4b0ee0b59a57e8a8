// Metering across routers and over time, against a real chain on both stores, with a journal and without:
// routers sharing one store never hold more than a payer has, leases hand credits over and see a lowered
// balance, a chain or store that fails, and a restart that drops what the last run held.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Address, getAddress, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { devRoleAccount } from '../../chain/dev-accounts.ts';
import { computeCreditsAbi } from '../../chain/generated/index.ts';
import { chainCreditsSource } from './credits-source.ts';
import { MeteredJobLog } from './metered-job-log.ts';
import {
  chargeJob,
  flushed,
  heldBy,
  leaseRows,
  newPayer,
  reserveJob,
  unspentOf,
  useMeteringChain,
} from './testing/metering-fixture.ts';
import { meteringCombos, meteringSuite } from './testing/metering-suite.ts';

const env = useMeteringChain();

describe.each(meteringCombos())('Metering of several routers on $kind with $mode', (combo) => {
  const { journal } = combo;
  const s = meteringSuite(combo, env.credits);
  const { fundedPayer } = env;
  const unspent = (payer: Address) => unspentOf(s.ledger, payer);

  it('lets two routers on one store never together hold more than the balance', async () => {
    const payer = await fundedPayer(10_000n);
    // On PostgreSQL each router has its own connections to the server, as two processes would.
    const second = await s.secondStore();
    const a = (await s.open(`router-two-a-${journal}`)).metering;
    const b = (await s.open(`router-two-b-${journal}`, {}, second)).metering;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => reserveJob(i % 2 === 0 ? a : b, env.ctx, payer, 1_000n)),
    );
    const granted = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(granted).toBeGreaterThan(0);
    expect(granted).toBeLessThanOrEqual(10);
    expect(heldBy(a, payer) + heldBy(b, payer)).toBe(BigInt(granted) * 1_000n);
    expect(await s.ledger.leased(payer)).toBeLessThanOrEqual(10_000n);
    const rows = await leaseRows(s.store, payer);
    expect([...rows.values()].reduce((sum, v) => sum + v, 0n)).toBeLessThanOrEqual(10_000n);

    // Charges interleaved with reservations on both routers: what is charged never exceeds the balance.
    const fresh = await fundedPayer(5_000n);
    const work = await Promise.allSettled(
      Array.from({ length: 30 }, async (_, i) => {
        const m = i % 2 === 0 ? a : b;
        const job = await reserveJob(m, env.ctx, fresh, 500n);
        return chargeJob(m, env.ctx, job, 400n);
      }),
    );
    await a.flush();
    await b.flush();
    const done = work.filter((o) => o.status === 'fulfilled').length;
    const charged = (await s.ledger.receiptsFor({ payer: fresh })).reduce((sum, r) => sum + r.charged, 0n);
    expect(charged).toBe(BigInt(done) * 400n);
    expect(charged).toBeLessThanOrEqual(5_000n);
    expect(await unspent(fresh)).toBe(5_000n - charged);
  });

  it('hands credits over between routers once one gives its idle lease back', async () => {
    const payer = await fundedPayer(2_000n);
    const a = (await s.open(`router-hand-a-${journal}`)).metering;
    const b = (await s.open(`router-hand-b-${journal}`)).metering;
    const job = await reserveJob(a, env.ctx, payer, 1_000n);
    // a's lease took room for its next jobs: b cannot hold what a leases.
    await expect(reserveJob(b, env.ctx, payer, 1_000n)).rejects.toMatchObject({
      code: 'insufficient_credits',
    });
    await a.release(job.jobId, { status: 'failed' });
    expect(await a.leases.returnIdle(0)).toBe(1);
    expect((await leaseRows(s.store, payer)).has(`router-hand-a-${journal}`)).toBe(false);
    await reserveJob(b, env.ctx, payer, 2_000n);
    expect(heldBy(b, payer)).toBe(2_000n);
  });

  it('sees a lowered on-chain balance once the lease is older than revalidateMs', async () => {
    const payer = privateKeyToAccount(generatePrivateKey());
    const gas = await env.chain
      .walletFor(devRoleAccount('deployer'))
      .sendTransaction({ to: payer.address, value: parseEther('1') });
    await env.chain.publicClient.waitForTransactionReceipt({ hash: gas });
    await env.chain.fund(payer.address, 1_000n);
    const m = (await s.open(`router-revalidate-${journal}`, { revalidateMs: 200 })).metering;
    await reserveJob(m, env.ctx, payer.address, 100n);
    expect(m.leases.lease(payer.address)?.amount).toBe(550n);
    await env.chain.write(payer, {
      address: env.chain.book.contracts.computeCredits,
      abi: computeCreditsAbi,
      functionName: 'requestWithdrawal',
      args: [800n],
    });
    // Within revalidateMs the lease's view may be that old; past it, a hold reads the chain again.
    await sleep(250);
    const error = await reserveJob(m, env.ctx, payer.address, 150n).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'insufficient_credits', details: { available: '100' } });
    await reserveJob(m, env.ctx, payer.address, 100n);
    expect(m.leases.lease(payer.address)?.amount).toBe(200n);
    expect(await s.ledger.available(payer.address)).toBe(0n);
  });

  it('refuses a reservation as retryable when the credits cannot be read, holding nothing', async () => {
    const holder = `router-blind-${journal}`;
    const blind = chainCreditsSource({
      publicClient: env.chain.publicClient,
      computeCredits: newPayer(),
      maxAgeMs: 0,
    });
    const m = (await s.open(holder, { credits: blind })).metering;
    const payer = await fundedPayer(1_000n);
    await expect(reserveJob(m, env.ctx, payer, 100n)).rejects.toMatchObject({
      code: 'chain_error',
      retryable: true,
    });
    const outcomes = await Promise.allSettled([
      reserveJob(m, env.ctx, payer, 100n),
      reserveJob(m, env.ctx, payer, 100n),
    ]);
    for (const o of outcomes)
      expect(o).toMatchObject({ status: 'rejected', reason: { code: 'chain_error' } });
    expect(heldBy(m, payer)).toBe(0n);
    expect((await leaseRows(s.store, payer)).has(holder)).toBe(false);
  });

  it('tells a payer where its credits stand: held while running, unsettled once charged', async () => {
    const payer = await fundedPayer(10_000n);
    const a = (await s.open(`router-standing-a-${journal}`)).metering;
    const b = (await s.open(`router-standing-b-${journal}`)).metering;
    const fresh = { balance: 10_000n, unsettled: 0n, held: 0n, available: 10_000n };
    expect(await a.standing(payer)).toEqual(fresh);
    expect(await a.standing(getAddress(payer).toLowerCase() as Address)).toEqual(fresh);

    // Held for the running job, not the room its lease took for the next ones.
    const job = await reserveJob(a, env.ctx, payer, 1_000n);
    expect(await a.standing(payer)).toEqual({ ...fresh, held: 1_000n, available: 9_000n });
    // Charged: unsettled at once, whether it is still in the journal or stored already.
    await chargeJob(a, env.ctx, job, 400n);
    const charged = { ...fresh, unsettled: 400n, available: 9_600n };
    expect(await a.standing(payer)).toEqual(charged);
    await flushed(a);
    expect(await a.standing(payer)).toEqual(charged);

    // Another router's job: its whole lease counts as held here, as it does for every reservation.
    await reserveJob(b, env.ctx, payer, 500n);
    const leasedByB = (await leaseRows(s.store, payer)).get(`router-standing-b-${journal}`) ?? 0n;
    expect(leasedByB).toBeGreaterThanOrEqual(500n);
    expect(await a.standing(payer)).toEqual({
      ...charged,
      held: leasedByB,
      available: 9_600n - leasedByB,
    });
    expect((await b.standing(payer)).held).toBe(
      500n + ((await leaseRows(s.store, payer)).get(`router-standing-a-${journal}`) ?? 0n),
    );

    // Settled long enough ago for any balance read since to include the debit (nobody debited it here).
    await s.store.query('update receipts set settled_at = $2 where job_id = $1', [
      job.jobId.toLowerCase(),
      Date.now() - 60_000,
    ]);
    expect((await a.standing(payer)).unsettled).toBe(0n);
    await expect(a.standing('0x1234' as Address)).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('keeps steps when the store refuses writes', async () => {
    const payer = await fundedPayer(1_000n);
    const log = new MeteredJobLog(s.metering, s.jobs);
    const job = await reserveJob(s.metering, env.ctx, payer, 300n);
    await s.store.query('alter table jobs rename to jobs_offline');
    try {
      if (journal) {
        // Durable in the journal: the charge is answered and readable while the store refuses it.
        expect((await chargeJob(s.metering, env.ctx, job, 100n)).charged).toBe(100n);
        await expect(s.metering.flush()).rejects.toMatchObject({
          code: 'service_unavailable',
          retryable: true,
        });
        expect(await log.get(job.publicId)).toMatchObject({ status: 'succeeded', usage: { price: 100n } });
        expect(s.metering.leases.lease(payer)).toMatchObject({ held: 0n, pending: 100n });
        // What /metrics tells an operator: a backlog, and ingestion waiting to retry.
        expect(s.metering.stats()).toMatchObject({ unstored: 1, storeRetrying: true, rejected: 0 });
      } else {
        // Nothing durable: the charge fails and the job stays held, for release to free.
        await expect(chargeJob(s.metering, env.ctx, job, 100n)).rejects.toThrow(/"jobs"/);
        expect(heldBy(s.metering, payer)).toBe(300n);
        expect(await s.metering.release(job.jobId, { status: 'failed', errorCode: 'internal_error' })).toBe(
          true,
        );
        expect(heldBy(s.metering, payer)).toBe(0n);
      }
    } finally {
      await s.store.query('alter table jobs_offline rename to jobs');
    }
    await flushed(s.metering);
    const receipts = await s.ledger.receiptsFor({ jobId: job.jobId });
    if (journal) {
      expect(receipts.map((r) => r.charged)).toEqual([100n]);
      expect(await s.jobs.get(job.publicId)).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(s.metering.leases.lease(payer)).toMatchObject({ held: 0n, pending: 0n });
      expect(await unspent(payer)).toBe(900n);
      expect(s.metering.stats()).toMatchObject({ unstored: 0, storeRetrying: false });
    } else {
      expect(receipts).toEqual([]);
      // The release's log write was refused too: it is logged, and the job was never charged.
      expect(await s.jobs.get(job.publicId)).toBeUndefined();
      expect(await unspent(payer)).toBe(1_000n);
    }
  });

  it('gives idle leases back at close, and a restart drops what its last run still held', async () => {
    const payer = await fundedPayer(1_000n);
    const holder = `router-restart-${journal}`;
    const idlePayer = await fundedPayer(1_000n);
    const first = await s.open(holder);
    const charged = await reserveJob(first.metering, env.ctx, payer, 100n);
    await chargeJob(first.metering, env.ctx, charged, 40n);
    await reserveJob(first.metering, env.ctx, payer, 200n);
    await chargeJob(first.metering, env.ctx, await reserveJob(first.metering, env.ctx, idlePayer, 100n), 10n);
    expect((await leaseRows(s.store, idlePayer)).has(holder)).toBe(true);
    await first.close();
    // Closed with a job still running: that lease stays until the next start (or its expiry).
    expect((await leaseRows(s.store, payer)).get(holder)).toBeGreaterThan(0n);
    expect((await leaseRows(s.store, idlePayer)).has(holder)).toBe(false);
    expect(await unspent(idlePayer)).toBe(990n);
    expect(await s.ledger.receiptsFor({ jobId: charged.jobId })).toHaveLength(1);
    await s.open(holder);
    expect((await leaseRows(s.store, payer)).has(holder)).toBe(false);
    expect(await unspent(payer)).toBe(960n);
  });
});
