// The jobs log as metering writes it: a job is logged queued (logNow) or refused, and ends with its charge
// or its release, attempts included, once; ingesting the same entries again (a replayed journal) changes
// nothing. On both stores, with a journal (read back through MeteredJobLog before the store has it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, getAddress, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { devAccount } from '../../chain/dev-accounts.ts';
import { attemptIdFor, newApiId, randomBytes32 } from '../../protocol/ids.ts';
import { hashReceipt } from '../../protocol/receipt.ts';
import { isReceiptAttested } from '../../protocol/receipt-attestation.ts';
import { signedReceipt } from '../settlement/testing/protocol-fixture.ts';
import type { Store } from '../store/store.ts';
import { CreditLedger } from './credit-ledger.ts';
import type { EndedAttempt } from './job-rows.ts';
import { JobStore } from './job-store.ts';
import { MeteredJobLog } from './metered-job-log.ts';
import type { Metering } from './metering.ts';
import { endedEntry, type MeteredJob, openedEntry } from './metering-entries.ts';
import { ingestBatch, ingestEntries } from './metering-ingest.ts';
import { type OpenedMetering, openMetering } from './open-metering.ts';
import { ReceiptAudits } from './receipt-audit.ts';
import {
  leaseRows,
  newPayer,
  reserveJob,
  routerAttester,
  silentLogger,
  useMeteringChain,
} from './testing/metering-fixture.ts';

const node = devAccount(10);
const otherNode = getAddress(devAccount(11).address);
const env = useMeteringChain();

describe.each(storeBackends())('the jobs log of metering on $kind', (backend) => {
  const db = freshStoreFor(backend);
  let store: Store;
  let dir: string;
  let opened: OpenedMetering;
  let metering: Metering;
  let jobs: JobStore;
  let log: MeteredJobLog;
  let ledger: CreditLedger;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'neurino-job-log-'));
    store = db.store;
    opened = await openMetering({
      store,
      credits: credits(),
      holder: 'router-log',
      logger: silentLogger,
      journalDir: dir,
      // Nothing reaches the store before a test flushes: what is read before comes from the journal.
      gatherMs: 600_000,
    });
    ({ metering } = opened);
    jobs = new JobStore(store);
    log = new MeteredJobLog(metering, jobs);
    ledger = new CreditLedger({ store, credits: credits() });
  });

  afterAll(async () => {
    await opened?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const { credits, fundedPayer } = env;
  const attemptsOf = (jobId: Hex): EndedAttempt[] => [
    {
      attemptId: attemptIdFor(jobId, 0),
      node: otherNode,
      status: 'failed',
      errorCode: 'node_lost',
      startedAt: 1,
      finishedAt: 2,
    },
    {
      attemptId: attemptIdFor(jobId, 1),
      node: node.address,
      status: 'succeeded',
      startedAt: 3,
      finishedAt: 4,
    },
  ];

  it('logs the job queued at once with logNow', async () => {
    const payer = await fundedPayer(1_000n);
    const { jobId, publicId } = await reserveJob(metering, env.ctx, payer, 300n, true);
    const expected = {
      jobId,
      publicId,
      apiKeyId: 'key_1',
      payer,
      podId: env.ctx.podId,
      kind: 'chat',
      status: 'queued',
    };
    expect(await log.get(publicId)).toMatchObject({ ...expected, attempts: 0, finishedAt: undefined });
    await metering.flush();
    expect(await jobs.get(publicId)).toMatchObject({ ...expected, attempts: 0, finishedAt: undefined });
  });

  it('logs a job logged when accepted as running once its first attempt began, once', async () => {
    const payer = await fundedPayer(1_000n);
    const { jobId, publicId } = await reserveJob(metering, env.ctx, payer, 300n, true);
    await Promise.all([metering.started(jobId), metering.started(jobId)]);
    expect(await log.get(publicId)).toMatchObject({ status: 'running', attempts: 0 });
    await metering.flush();
    expect(await jobs.get(publicId)).toMatchObject({ status: 'running', attempts: 0 });
    // A job not logged when accepted (a chat) is written at its end only.
    const chat = await reserveJob(metering, env.ctx, payer, 300n, false);
    await metering.started(chat.jobId);
    await metering.flush();
    expect(await log.get(chat.publicId)).toBeUndefined();
  });

  it('stores a job queued, then running, then its end, and never running again after it ended', async () => {
    const job = meteredJob(getAddress(newPayer()));
    await store.transaction((tx) => ingestEntries(tx, 'router-ingest', [openedEntry(job)]));
    await store.transaction((tx) => ingestEntries(tx, 'router-ingest', [openedEntry(job, 'running')]));
    expect(await jobs.get(job.publicId)).toMatchObject({ status: 'running' });
    const ended = endedEntry(job, {
      status: 'failed',
      errorCode: 'node_lost',
      attempts: attemptsOf(job.jobId),
    });
    await store.transaction((tx) => ingestEntries(tx, 'router-ingest', [ended, openedEntry(job, 'running')]));
    await store.transaction((tx) => ingestEntries(tx, 'router-ingest', [openedEntry(job, 'running')]));
    expect(await jobs.get(job.publicId)).toMatchObject({ status: 'failed', error: { code: 'node_lost' } });
  });

  it('ends as failed, free, the jobs a crashed run of the same router left open', async () => {
    const payer = await fundedPayer(1_000n);
    const crashDir = await mkdtemp(join(tmpdir(), 'neurino-job-log-crash-'));
    const open = (journalDir: string) =>
      openMetering({
        store,
        credits: credits(),
        holder: 'router-crashing',
        logger: silentLogger,
        journalDir,
      });
    const first = (await open(crashDir)).metering;
    const queued = await reserveJob(first, env.ctx, payer, 300n, true);
    await first.flush();
    // The run dies here (never closed); another router's open job is none of this router's business.
    const otherRouter = await openMetering({
      store,
      credits: credits(),
      holder: 'router-other',
      logger: silentLogger,
    });
    const elsewhere = await reserveJob(otherRouter.metering, env.ctx, payer, 100n, true);
    const next = await open(crashDir);
    try {
      expect(await jobs.get(queued.publicId)).toMatchObject({
        status: 'failed',
        error: { code: 'service_unavailable' },
      });
      expect(await ledger.receiptsFor({ jobId: queued.jobId })).toEqual([]);
      expect(await jobs.get(elsewhere.publicId)).toMatchObject({ status: 'queued' });
    } finally {
      await next.close();
      await otherRouter.metering.release(elsewhere.jobId, { status: 'cancelled' });
      await otherRouter.close();
      await rm(crashDir, { recursive: true, force: true });
    }
  });

  it('logs a job refused for lack of credits as failed, holding nothing', async () => {
    const payer = await fundedPayer(100n);
    const jobId = randomBytes32();
    const publicId = newApiId('job');
    const job = { publicId, apiKeyId: 'key_1', podId: env.ctx.podId, kind: 'chat' as const };
    await expect(metering.reserve({ jobId, payer, amount: 101n, job })).rejects.toMatchObject({
      code: 'insufficient_credits',
      status: 402,
    });
    expect(await log.get(publicId)).toMatchObject({
      status: 'failed',
      error: { code: 'insufficient_credits' },
    });
    await metering.flush();
    const logged = await jobs.get(publicId);
    expect(logged).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'insufficient_credits' } });
    expect(logged?.error?.message).toMatch(/100 wei available, 101 wei required/);
    expect(logged?.finishedAt).toBeGreaterThan(0);
    expect(metering.leases.lease(payer)?.held ?? 0n).toBe(0n);
  });

  it('ends the job with its charge: result, attempts and usage', async () => {
    const payer = await fundedPayer(1_000n);
    const { jobId, publicId } = await reserveJob(metering, env.ctx, payer, 100n, true);
    const { receipt, nodeSignature } = await signedReceipt(env.ctx.domain, node, {
      jobId,
      attemptId: attemptIdFor(jobId, 1),
      podId: env.ctx.podId,
      payer,
      price: 150n,
    });
    const seen: bigint[] = [];
    const answer = await metering.charge({
      jobId,
      receipt,
      nodeSignature,
      ending: (charged) => {
        seen.push(charged);
        return { status: 'succeeded', result: { charged: charged.toString() }, attempts: attemptsOf(jobId) };
      },
    });
    expect(answer).toEqual({ charged: 100n });
    expect(seen).toEqual([100n]);
    const expected = {
      status: 'succeeded',
      attempts: 2,
      result: { charged: '100' },
      error: undefined,
      usage: { price: 100n, computeUnits: receipt.computeUnits, inputTokens: 12, outputTokens: 34 },
    };
    expect(await log.get(publicId)).toMatchObject(expected);
    // Its receipt is there the moment its answer is: journaled, then stored.
    const audits = new ReceiptAudits({
      store,
      domain: env.ctx.domain,
      unstored: (id) => metering.unstored(id),
    });
    const journaled = await audits.byPublicId(publicId);
    expect(journaled).toMatchObject({
      receipt,
      receipt_hash: hashReceipt(receipt),
      node_signature: nodeSignature,
      charged: 100n,
      attestation: null,
      settlement: { status: 'journaled' },
    });
    await metering.flush();
    expect(await audits.byPublicId(publicId)).toMatchObject({
      receipt,
      node_signature: nodeSignature,
      charged: 100n,
      settlement: { status: 'unbatched' },
    });
    expect(await new ReceiptAudits({ store, domain: env.ctx.domain }).byPublicId('job_none')).toBeUndefined();
    expect(await jobs.get(publicId)).toMatchObject(expected);
    expect((await jobs.get(publicId))?.finishedAt).toBeGreaterThan(0);
    const attempts = await jobs.attempts(jobId);
    expect(attempts.map((a) => [a.node, a.status, a.errorCode])).toEqual([
      [otherNode, 'failed', 'node_lost'],
      [node.address, 'succeeded', undefined],
    ]);
    expect(metering.leases.lease(payer)).toMatchObject({ held: 0n, pending: 0n });
  });

  it('ends a released job failed or cancelled with its attempts, free', async () => {
    const payer = await fundedPayer(1_000n);
    const failed = await reserveJob(metering, env.ctx, payer, 100n, true);
    const [lost] = attemptsOf(failed.jobId);
    expect(
      await metering.release(failed.jobId, {
        status: 'failed',
        errorCode: 'node_lost',
        attempts: lost ? [lost] : [],
      }),
    ).toBe(true);
    const cancelled = await reserveJob(metering, env.ctx, payer, 100n);
    expect(
      await metering.release(cancelled.jobId, {
        status: 'cancelled',
        errorCode: 'job_cancelled',
        attempts: attemptsOf(cancelled.jobId),
      }),
    ).toBe(true);
    // Released again: nothing to free, the first end stays.
    expect(await metering.release(failed.jobId, { status: 'cancelled', attempts: [] })).toBe(false);
    await metering.flush();
    expect(await jobs.get(failed.publicId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'node_lost' },
      usage: undefined,
    });
    expect(await jobs.get(cancelled.publicId)).toMatchObject({
      status: 'cancelled',
      attempts: 2,
      error: { code: 'job_cancelled' },
    });
    expect(await jobs.attempts(cancelled.jobId)).toHaveLength(2);
    expect(metering.leases.lease(payer)?.held).toBe(0n);
    expect(await ledger.receiptsFor({ payer })).toEqual([]);
  });

  /** A new chat job of `payer`, as metering keeps it. */
  const meteredJob = (payer: Address): MeteredJob => ({
    jobId: randomBytes32(),
    publicId: newApiId('job'),
    payer,
    podId: env.ctx.podId,
    kind: 'chat',
    createdAt: Date.now(),
  });

  /** A chat job of `payer` and its charge: a receipt the node signed for the job's attempt 1. */
  const paidJob = async (payer: Address, price: bigint) => {
    const job = meteredJob(payer);
    const { jobId } = job;
    const { receipt, nodeSignature } = await signedReceipt(env.ctx.domain, node, {
      jobId,
      attemptId: attemptIdFor(jobId, 1),
      podId: env.ctx.podId,
      payer,
      price,
    });
    return {
      jobId,
      job,
      charge: { receipt, receiptHash: hashReceipt(receipt), nodeSignature, charged: price },
    };
  };

  it('ingests the same entries twice as once: one job row, attempts once, one receipt, the lease shrunk once', async () => {
    const payer = getAddress(newPayer());
    const holder = 'router-ingest';
    const { jobId, job, charge } = await paidJob(payer, 300n);
    const entries = [
      openedEntry(job),
      endedEntry(job, { status: 'succeeded', result: { ok: true }, attempts: attemptsOf(jobId) }, charge),
    ];
    const now = Date.now();
    await store.query(
      'insert into credit_leases (holder, payer, amount, created_at, expires_at) values ($1, $2, 1000, $3, $4)',
      [holder, payer, now, now + 60_000],
    );
    const ingest = (batch: typeof entries) => store.transaction((tx) => ingestEntries(tx, holder, batch));
    const check = async () => {
      expect(await jobs.get(job.publicId)).toMatchObject({
        status: 'succeeded',
        attempts: 2,
        usage: { price: 300n },
      });
      expect(await jobs.attempts(jobId)).toHaveLength(2);
      // The paid attempt is the receipt's row; only the failed one is a row of job_attempts.
      const rows = await store.query<{ status: string }>(
        'select status from job_attempts where job_id = $1',
        [jobId.toLowerCase()],
      );
      expect(rows.map((r) => r.status)).toEqual(['failed']);
      expect(await ledger.receiptsFor({ jobId })).toHaveLength(1);
      expect((await leaseRows(store, payer)).get(holder)).toBe(700n);
    };
    await ingest(entries);
    await check();
    await ingest(entries);
    await check();
    // A replay split differently (the opened entry alone, then the end alone) changes nothing either.
    await ingest(entries.slice(0, 1));
    await ingest(entries.slice(1));
    await check();
    await ingest([]);
    await check();
  });

  it('stores a receipt whose hash cannot be attested unattested, and the rest of its batch attested', async () => {
    const payer = getAddress(newPayer());
    const entryFor = async (receiptHash?: Hex) => {
      const { jobId, job, charge } = await paidJob(payer, 5n);
      const entry = endedEntry(job, { status: 'succeeded', attempts: [] }, charge);
      if (receiptHash !== undefined && entry.receipt !== undefined) entry.receipt.receipt_hash = receiptHash;
      return { jobId, entry };
    };
    const corrupt = await entryFor('0xnot-a-hash');
    const fine = await entryFor();
    const also = await entryFor();
    const { key, attester } = routerAttester(env.ctx.domain);
    const entries = [corrupt.entry, fine.entry, also.entry];
    const outcome = await ingestBatch(store, 'router-attest', entries, attester);
    expect(outcome.refused).toEqual([]);
    const [unattested] = await ledger.receiptsFor({ jobId: corrupt.jobId });
    expect(unattested?.attestation).toBeUndefined();
    expect(await ledger.attestedReceipt(corrupt.jobId)).toBeUndefined();
    const roots = new Set<Hex>();
    for (const { jobId } of [fine, also]) {
      const evidence = await ledger.attestedReceipt(jobId);
      expect(evidence && isReceiptAttested(env.ctx.domain, evidence, key.address)).toBe(true);
      expect(evidence?.attestation.receiptCount).toBe(2);
      if (evidence !== undefined) roots.add(evidence.attestation.receiptsRoot);
    }
    // One signature for the batch. A replay (a journal cut differently) stores nothing again: each
    // receipt keeps its evidence, and no attestation is written that no stored receipt names.
    expect(roots.size).toBe(1);
    await ingestBatch(store, 'router-attest', entries.slice(2), attester);
    const [again] = await ledger.receiptsFor({ jobId: fine.jobId });
    expect(again?.attestation?.receiptsRoot).toBe([...roots][0]);
    const rows = await store.query<{ n: unknown }>(
      'select count(*) as n from receipt_attestations where router = $1',
      [key.address],
    );
    expect(Number(rows[0]?.n)).toBe(1);
  });

  it('keeps the first end of a job: a later end of the same job changes nothing', async () => {
    const job = meteredJob(getAddress(newPayer()));
    const { jobId } = job;
    const first = endedEntry(job, {
      status: 'failed',
      errorCode: 'node_lost',
      attempts: attemptsOf(jobId).slice(0, 1),
    });
    const later = endedEntry(job, { status: 'cancelled', attempts: attemptsOf(randomBytes32()) });
    await store.transaction((tx) => ingestEntries(tx, 'router-ingest', [first, later]));
    await store.transaction((tx) => ingestEntries(tx, 'router-ingest', [later]));
    expect(await jobs.get(job.publicId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'node_lost' },
    });
  });

  it("lists a payer's jobs from the journal and the store alike, each job's latest step winning", async () => {
    const payer = await fundedPayer(1_000n);
    const stored = await reserveJob(metering, env.ctx, payer, 100n, true);
    await metering.flush();
    // Queued in the store; its end, and a newer job, only in the journal so far.
    await metering.release(stored.jobId, { status: 'cancelled' });
    const journaled = await reserveJob(metering, env.ctx, payer, 100n, true);
    expect((await jobs.listApiJobs(payer, { limit: 10 })).map((j) => [j.publicId, j.status])).toEqual([
      [stored.publicId, 'queued'],
    ]);
    const listed = await log.listApiJobs(payer, { limit: 10 });
    expect(listed.map((j) => [j.publicId, j.status])).toEqual([
      [journaled.publicId, 'queued'],
      [stored.publicId, 'cancelled'],
    ]);
    // Pages hold across both: the second page starts after the journaled job.
    const [newest] = await log.listApiJobs(payer, { limit: 1 });
    expect(newest?.publicId).toBe(journaled.publicId);
    const next = await log.listApiJobs(payer, { limit: 1, before: newest });
    expect(next.map((j) => j.publicId)).toEqual([stored.publicId]);
    expect(await log.listApiJobs(payer, { limit: 1, before: next[0] })).toEqual([]);

    await metering.flush();
    expect((await log.listApiJobs(payer, { limit: 10 })).map((j) => [j.publicId, j.status])).toEqual(
      listed.map((j) => [j.publicId, j.status]),
    );
    await metering.release(journaled.jobId, { status: 'cancelled' });
  });
});
