// Metering of one router against a real chain (anvil with the protocol deployed) on both stores, each with
// a journal (steps durable in a local file, the store fed in the background) and without (steps wait for
// the store): holds, charges, releases, refusals, and reading a job back before the store has it.
import type { Address, Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { FatalError } from '../../protocol/errors.ts';
import { randomBytes32 } from '../../protocol/ids.ts';
import { hashReceipt } from '../../protocol/receipt.ts';
import { isReceiptAttested } from '../../protocol/receipt-attestation.ts';
import { signedReceipt } from '../settlement/testing/protocol-fixture.ts';
import { MeteredJobLog } from './metered-job-log.ts';
import type { Metering } from './metering.ts';
import type { ReceiptAttester } from './receipt-attester.ts';
import {
  attemptOf,
  chargeJob,
  flushed,
  heldBy,
  leaseRows,
  newPayer,
  reserveJob,
  routerAttester,
  unspentOf,
  useMeteringChain,
} from './testing/metering-fixture.ts';
import { meteringCombos, meteringSuite } from './testing/metering-suite.ts';

const node = devAccount(10);

const env = useMeteringChain();

describe.each(meteringCombos())('Metering on $kind with $mode', (combo) => {
  const { journal } = combo;
  const s = meteringSuite(combo, env.credits);
  const { fundedPayer } = env;
  const unspent = (payer: Address) => unspentOf(s.ledger, payer);

  it('reserves, charges the measured price capped at the hold, and stores the receipt', async () => {
    const payer = await fundedPayer(1_000n);
    const measured = await reserveJob(s.metering, env.ctx, payer, 300n);
    const capped = await reserveJob(s.metering, env.ctx, payer, 50n);
    expect(heldBy(s.metering, payer)).toBe(350n);

    const first = await chargeJob(s.metering, env.ctx, measured, 120n);
    expect(first.charged).toBe(120n);
    const second = await chargeJob(s.metering, env.ctx, capped, 80n);
    expect(second.charged).toBe(50n);
    expect(heldBy(s.metering, payer)).toBe(0n);

    await s.metering.flush();
    const [stored] = await s.ledger.receiptsFor({ jobId: measured.jobId });
    expect(stored).toMatchObject({
      charged: 120n,
      receiptHash: hashReceipt(first.receipt),
      nodeSignature: first.nodeSignature.toLowerCase(),
      batch: undefined,
      settledAt: undefined,
    });
    expect(stored?.receipt).toEqual(first.receipt);
    expect((await s.ledger.receiptsFor({ jobId: capped.jobId }))[0]?.charged).toBe(50n);
    expect(s.metering.leases.lease(payer)).toMatchObject({ held: 0n, pending: 0n });
    expect(await unspent(payer)).toBe(830n);
    // The lease row shrank by what was charged: the store agrees with the router.
    expect((await leaseRows(s.store, payer)).get('router-a')).toBe(s.metering.leases.lease(payer)?.amount);
  });

  it('attests the receipts it stores: one signature over a batch, each receipt provable by its path', async () => {
    const { key, attester } = routerAttester(env.ctx.domain);
    const { metering } = await s.open('router-signing', { attester });
    const payer = await fundedPayer(1_000n);
    const first = await chargeJob(metering, env.ctx, await reserveJob(metering, env.ctx, payer, 100n), 10n);
    const second = await chargeJob(metering, env.ctx, await reserveJob(metering, env.ctx, payer, 100n), 20n);
    await metering.flush();
    const proofs = [];
    for (const { receipt } of [first, second]) {
      const evidence = await s.ledger.attestedReceipt(receipt.jobId);
      expect(evidence?.receiptHash).toBe(hashReceipt(receipt));
      expect(evidence && isReceiptAttested(env.ctx.domain, evidence, key.address)).toBe(true);
      // The same evidence names no other key (forged evidence: receipt-attestation.test.ts).
      expect(evidence && isReceiptAttested(env.ctx.domain, evidence, node.address)).toBe(false);
      proofs.push(evidence);
    }
    const [stored] = await s.ledger.receiptsFor({ jobId: first.receipt.jobId });
    expect(stored?.attestation?.receiptsRoot).toBe(proofs[0]?.attestation.receiptsRoot);
    expect(stored?.routerSignature).toBeUndefined();
    // A router without a key stores its receipts with the node's signature only.
    const unsigned = await chargeJob(
      s.metering,
      env.ctx,
      await reserveJob(s.metering, env.ctx, payer, 100n),
      5n,
    );
    await s.metering.flush();
    expect(await s.ledger.attestedReceipt(unsigned.receipt.jobId)).toBeUndefined();
  });

  it('keeps the receipts while the router key cannot attest them, and stores them attested after', async () => {
    const { key, attester } = routerAttester(env.ctx.domain);
    let failures = 1;
    const flaky: ReceiptAttester = {
      router: attester.router,
      sign: async (message) => {
        if (failures-- > 0) throw new Error('signer unreachable');
        return attester.sign(message);
      },
    };
    const { metering } = await s.open(`router-flaky-key-${journal}`, { attester: flaky });
    const payer = await fundedPayer(1_000n);
    const job = await reserveJob(metering, env.ctx, payer, 100n);
    if (!journal) {
      // Nothing durable: the charge fails as for a store that refuses it; the job stays free.
      await expect(chargeJob(metering, env.ctx, job, 10n)).rejects.toMatchObject({
        code: 'service_unavailable',
      });
      expect(await metering.release(job.jobId, { status: 'failed', errorCode: 'internal_error' })).toBe(true);
      expect(await s.ledger.receiptsFor({ jobId: job.jobId })).toEqual([]);
      return;
    }
    const { receipt } = await chargeJob(metering, env.ctx, job, 10n);
    await expect(metering.flush()).rejects.toMatchObject({ code: 'service_unavailable', retryable: true });
    expect(metering.stats()).toMatchObject({ unstored: 1, storeRetrying: true, rejected: 0 });
    await flushed(metering);
    const evidence = await s.ledger.attestedReceipt(receipt.jobId);
    expect(evidence && isReceiptAttested(env.ctx.domain, evidence, key.address)).toBe(true);
    expect(metering.stats()).toMatchObject({ unstored: 0, storeRetrying: false });
  });

  it('charges a job once: a second charge is refused, and of two racing charges one wins', async () => {
    const payer = await fundedPayer(1_000n);
    const job = await reserveJob(s.metering, env.ctx, payer, 500n);
    await chargeJob(s.metering, env.ctx, job, 200n);
    await expect(chargeJob(s.metering, env.ctx, job, 200n)).rejects.toMatchObject({
      code: 'invalid_request',
    });

    const raced = await reserveJob(s.metering, env.ctx, payer, 500n);
    const outcomes = await Promise.allSettled([
      chargeJob(s.metering, env.ctx, raced, 100n),
      chargeJob(s.metering, env.ctx, raced, 300n),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((o) => (o as PromiseRejectedResult).reason)).toMatchObject([{ code: 'invalid_request' }]);

    await s.metering.flush();
    expect(await s.ledger.receiptsFor({ jobId: job.jobId })).toHaveLength(1);
    const [racedReceipt] = await s.ledger.receiptsFor({ jobId: raced.jobId });
    expect(racedReceipt?.charged).toBe((won[0] as PromiseFulfilledResult<{ charged: bigint }>).value.charged);
    expect(heldBy(s.metering, payer)).toBe(0n);
  });

  it('makes a failed job free: release stores no receipt and frees the hold', async () => {
    const payer = await fundedPayer(1_000n);
    const job = await reserveJob(s.metering, env.ctx, payer, 400n);
    expect(await s.metering.release(job.jobId, { status: 'failed', errorCode: 'node_lost' })).toBe(true);
    expect(heldBy(s.metering, payer)).toBe(0n);
    expect(await s.metering.release(job.jobId, { status: 'failed' })).toBe(false);
    expect(await s.metering.release(randomBytes32(), { status: 'failed' })).toBe(false);
    // A result arriving after the release is not charged.
    await expect(chargeJob(s.metering, env.ctx, job, 100n)).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await s.metering.flush();
    expect(await s.ledger.receiptsFor({ payer })).toEqual([]);
    expect(await unspent(payer)).toBe(1_000n);
    expect(await s.jobs.get(job.publicId)).toMatchObject({ status: 'failed', usage: undefined });
  });

  it('refuses a reservation beyond the available credits (402), the job logged failed', async () => {
    const payer = await fundedPayer(100n);
    await reserveJob(s.metering, env.ctx, payer, 60n);
    const jobId = randomBytes32();
    const job = {
      publicId: `job_refused${jobId.slice(2, 14)}`,
      apiKeyId: 'key_1',
      podId: env.ctx.podId,
      kind: 'chat' as const,
    };
    const error = await s.metering.reserve({ jobId, payer, amount: 41n, job }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect(error).toMatchObject({ code: 'insufficient_credits', status: 402 });
    expect((error as FatalError).details).toMatchObject({ payer, available: '40', required: '41' });
    const log = new MeteredJobLog(s.metering, s.jobs);
    // Read back at once (a journaled entry answers before the store has it), then from the store.
    expect(await log.get(job.publicId)).toMatchObject({
      status: 'failed',
      error: { code: 'insufficient_credits' },
    });
    await s.metering.flush();
    const logged = await s.jobs.get(job.publicId);
    expect(logged).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'insufficient_credits' } });
    expect(logged?.error?.message).toMatch(/40 wei available, 41 wei required/);
    expect(heldBy(s.metering, payer)).toBe(60n);

    await reserveJob(s.metering, env.ctx, payer, 40n);
    expect(heldBy(s.metering, payer)).toBe(100n);
    expect(await s.ledger.available(payer)).toBe(0n);
    // A payer who never deposited has nothing.
    await expect(reserveJob(s.metering, env.ctx, newPayer(), 1n)).rejects.toMatchObject({
      code: 'insufficient_credits',
    });
  });

  it('never overspends under many concurrent reservations of one payer', async () => {
    const payer = await fundedPayer(10_000n);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, () => reserveJob(s.metering, env.ctx, payer, 1_000n)),
    );
    const granted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(granted).toHaveLength(10);
    expect(refused).toHaveLength(30);
    expect(refused.every((e) => e?.code === 'insufficient_credits')).toBe(true);
    expect(heldBy(s.metering, payer)).toBe(10_000n);
    expect(await s.ledger.leased(payer)).toBe(10_000n);
    expect(await s.ledger.available(payer)).toBe(0n);
    for (const job of granted) await s.metering.release(job.jobId, { status: 'cancelled' });
    expect(heldBy(s.metering, payer)).toBe(0n);
  });

  it('never overspends when reservations and charges of one payer interleave', async () => {
    const payer = await fundedPayer(5_000n);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, async () => {
        const job = await reserveJob(s.metering, env.ctx, payer, 500n);
        return chargeJob(s.metering, env.ctx, job, 400n);
      }),
    );
    const done = outcomes.filter((o) => o.status === 'fulfilled').length;
    await s.metering.flush();
    const charged = (await s.ledger.receiptsFor({ payer })).reduce((sum, r) => sum + r.charged, 0n);
    expect(charged).toBe(BigInt(done) * 400n);
    expect(charged).toBeLessThanOrEqual(5_000n);
    expect(done).toBeGreaterThanOrEqual(10);
    expect(heldBy(s.metering, payer)).toBe(0n);
    expect(await unspent(payer)).toBe(5_000n - charged);
  });

  it('refuses receipts that do not match the hold, and still charges the right one', async () => {
    const payer = await fundedPayer(1_000n);
    const job = await reserveJob(s.metering, env.ctx, payer, 100n);
    const ending = () => ({ status: 'succeeded' as const });
    const otherJob = await signedReceipt(env.ctx.domain, node, { podId: env.ctx.podId, payer, price: 10n });
    await expect(s.metering.charge({ jobId: job.jobId, ...otherJob, ending })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/another job/),
    });
    const otherPayer = await signedReceipt(env.ctx.domain, node, {
      jobId: job.jobId,
      podId: env.ctx.podId,
      payer: newPayer(),
      price: 10n,
    });
    await expect(s.metering.charge({ jobId: job.jobId, ...otherPayer, ending })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/another payer/),
    });
    // Malformed: times backwards, a negative price, a number where a bigint belongs (and back), a bad
    // address; then a struct hash that is not the receipt's.
    const good = await signedReceipt(env.ctx.domain, node, {
      jobId: job.jobId,
      podId: env.ctx.podId,
      payer,
      price: 10n,
    });
    for (const receipt of [
      { ...good.receipt, finishedAt: good.receipt.startedAt - 1 },
      { ...good.receipt, price: -1n },
      { ...good.receipt, price: 10 as unknown as bigint },
      { ...good.receipt, inputTokens: 1n as unknown as number },
      { ...good.receipt, node: '0x1234' as Address },
    ]) {
      await expect(s.metering.charge({ jobId: job.jobId, ...good, receipt, ending })).rejects.toMatchObject({
        code: 'invalid_request',
        message: expect.stringMatching(/malformed receipt/),
      });
    }
    await expect(
      s.metering.charge({ jobId: job.jobId, ...good, receiptHash: randomBytes32(), ending }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/not the receipt's struct hash/) });
    // A job this router never held (or a malformed id) has nothing to charge.
    const stranger = await signedReceipt(env.ctx.domain, node, { podId: env.ctx.podId, payer, price: 10n });
    await expect(
      s.metering.charge({ jobId: stranger.receipt.jobId, ...stranger, ending }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/no open reservation/),
    });
    await expect(s.metering.charge({ jobId: '0x12' as Hex, ...stranger, ending })).rejects.toMatchObject({
      param: 'jobId',
    });
    await s.metering.flush();
    expect(await s.ledger.receiptsFor({ payer })).toEqual([]);
    expect(heldBy(s.metering, payer)).toBe(100n);

    expect((await chargeJob(s.metering, env.ctx, job, 10n)).charged).toBe(10n);
    await s.metering.flush();
    expect(await s.ledger.receiptsFor({ payer })).toHaveLength(1);
  });

  it('refuses malformed input, a job reserved twice and a malformed end, holding nothing more', async () => {
    const payer = await fundedPayer(1_000n);
    const job = { publicId: 'job_x', podId: env.ctx.podId, kind: 'chat' as const };
    const refuse = (input: Partial<Parameters<Metering['reserve']>[0]>, param: string) =>
      expect(
        s.metering.reserve({ jobId: randomBytes32(), payer, amount: 1n, job, ...input }),
      ).rejects.toMatchObject({ code: 'invalid_request', param });
    await refuse({ jobId: '0x12' as Hex }, 'jobId');
    await refuse({ payer: '0xnope' as Address }, 'payer');
    await refuse({ amount: -1n }, 'amount');
    await refuse({ amount: 1 as unknown as bigint }, 'amount');
    await expect(s.metering.release('not a job' as Hex, { status: 'failed' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(heldBy(s.metering, payer)).toBe(0n);

    const held = await reserveJob(s.metering, env.ctx, payer, 10n);
    await expect(
      s.metering.reserve({ jobId: held.jobId, payer, amount: 10n, job: { ...job, publicId: 'job_y' } }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    // Two reservations of one job racing: one wins, the other holds nothing.
    const jobId = randomBytes32();
    const raced = await Promise.allSettled([
      s.metering.reserve({ jobId, payer, amount: 20n, job: { ...job, publicId: 'job_r1' } }),
      s.metering.reserve({ jobId, payer, amount: 20n, job: { ...job, publicId: 'job_r2' } }),
    ]);
    expect(raced.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(heldBy(s.metering, payer)).toBe(30n);

    // An end that is not final is refused and leaves the job held (a poisoned journal line would stall).
    const signed = await signedReceipt(env.ctx.domain, node, {
      jobId: held.jobId,
      podId: env.ctx.podId,
      payer,
      price: 5n,
    });
    await expect(
      s.metering.charge({ jobId: held.jobId, ...signed, ending: () => ({ status: 'done' as 'failed' }) }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      s.metering.release(held.jobId, { status: 'running' as 'failed', attempts: [] }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      s.metering.release(held.jobId, {
        status: 'failed',
        attempts: [{ ...attemptOf(signed.receipt), status: 'running' as 'failed' }],
      }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    expect(heldBy(s.metering, payer)).toBe(30n);
    expect(await s.metering.release(held.jobId, { status: 'failed' })).toBe(true);
    expect(await s.metering.release(jobId, { status: 'failed' })).toBe(true);
    expect(heldBy(s.metering, payer)).toBe(0n);
    await s.metering.flush();
    expect(await s.ledger.receiptsFor({ payer })).toEqual([]);
  });

  it('logs a job queued at once with logNow, and not before its end without', async () => {
    const payer = await fundedPayer(1_000n);
    const log = new MeteredJobLog(s.metering, s.jobs);
    const async = await reserveJob(s.metering, env.ctx, payer, 100n, true);
    expect(await log.get(async.publicId)).toMatchObject({ status: 'queued', attempts: 0, payer });
    if (!journal) expect(await s.jobs.get(async.publicId)).toMatchObject({ status: 'queued' });
    const sync = await reserveJob(s.metering, env.ctx, payer, 100n);
    expect(await log.get(sync.publicId)).toBeUndefined();

    await s.metering.flush();
    expect(await s.jobs.get(async.publicId)).toMatchObject({
      jobId: async.jobId,
      apiKeyId: 'key_1',
      podId: env.ctx.podId,
      kind: 'chat',
      status: 'queued',
      finishedAt: undefined,
    });
    const { charged, receipt } = await chargeJob(s.metering, env.ctx, async, 70n);
    await s.metering.release(sync.jobId, { status: 'cancelled', errorCode: 'job_cancelled' });
    await s.metering.flush();
    expect(await s.jobs.get(async.publicId)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { charged: '70' },
      usage: { price: charged, computeUnits: receipt.computeUnits, inputTokens: 12, outputTokens: 34 },
    });
    expect(await s.jobs.get(sync.publicId)).toMatchObject({
      status: 'cancelled',
      error: { code: 'job_cancelled' },
    });
  });

  it('answers a job from unstored() until the store has it', async () => {
    const payer = await fundedPayer(1_000n);
    const log = new MeteredJobLog(s.metering, s.jobs);
    const job = await reserveJob(s.metering, env.ctx, payer, 100n);
    // With a journal, hold the queue of store writes: the charge is durable and readable before the store
    // has it. Without one, the charge resolves only once the store has it.
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const held = journal ? s.metering.serial(() => gate) : Promise.resolve();
    const { receipt } = await chargeJob(s.metering, env.ctx, job, 60n);
    const before = await log.get(job.publicId);
    if (journal) {
      expect(s.metering.unstored(job.publicId)).toMatchObject({
        job: { status: 'succeeded' },
        receipt: { charged: '60' },
      });
      expect(await s.jobs.get(job.publicId)).toBeUndefined();
    } else {
      expect(s.metering.unstored(job.publicId)).toBeUndefined();
    }
    expect(before).toMatchObject({
      jobId: job.jobId,
      publicId: job.publicId,
      status: 'succeeded',
      attempts: 1,
      result: { charged: '60' },
      usage: { price: 60n, computeUnits: receipt.computeUnits, inputTokens: 12, outputTokens: 34 },
    });
    openGate();
    await held;
    await s.metering.flush();
    expect(s.metering.unstored(job.publicId)).toBeUndefined();
    const after = await s.jobs.get(job.publicId);
    expect(after).toEqual(before);
    expect(await log.get(job.publicId)).toEqual(after);
    expect(await log.get('job_unknown')).toBeUndefined();
  });
});
