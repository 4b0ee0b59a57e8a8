import { type Address, getAddress, type Hex } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { attemptIdFor, newApiId, randomBytes32 } from '../../protocol/ids.ts';
import type { Store } from '../store/store.ts';
import { JobStore } from './job-store.ts';

const payer: Address = getAddress('0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc');
const node: Address = getAddress('0x70997970c51812dc3a010c7d01b50e0d17dc79c8');
const podId: Hex = `0x${'ab'.repeat(32)}`;

describe.each(storeBackends())('JobStore on $kind', (backend) => {
  const db = freshStoreFor(backend);
  let store: Store;
  let jobs: JobStore;

  beforeAll(async () => {
    store = db.store;
    jobs = new JobStore(store);
  });

  const newJob = async (request?: unknown) => {
    const job = { jobId: randomBytes32(), publicId: newApiId('job') };
    await jobs.create({ ...job, apiKeyId: 'key_1', payer, podId, kind: 'generic', request });
    return job;
  };

  it('records a job queued, with its request as JSON (arrays included)', async () => {
    const request = { input: [1, 'two', { three: [3] }], nested: { ok: true } };
    const { jobId, publicId } = await newJob(request);
    const job = await jobs.get(publicId);
    expect(job).toMatchObject({
      jobId,
      publicId,
      apiKeyId: 'key_1',
      payer,
      podId,
      kind: 'generic',
      status: 'queued',
    });
    expect(job?.request).toEqual(request);
    expect(job?.attempts).toBe(0);
    expect(job?.result).toBeUndefined();
    expect(job?.usage).toBeUndefined();
    expect(job?.finishedAt).toBeUndefined();

    const bare = await newJob([1, 2]);
    expect((await jobs.get(bare.publicId))?.request).toEqual([1, 2]);
  });

  it('counts attempts and keeps each attempt’s outcome', async () => {
    const { jobId, publicId } = await newJob();
    const first = attemptIdFor(jobId, 0);
    const second = attemptIdFor(jobId, 1);
    await jobs.attemptStarted({ jobId, attemptId: first, node });
    await jobs.attemptFinished({ attemptId: first, status: 'failed', errorCode: 'node_disconnected' });
    await jobs.attemptStarted({ jobId, attemptId: second, node });
    await jobs.attemptFinished({ attemptId: second, status: 'succeeded' });
    // An attempt ends once.
    await jobs.attemptFinished({ attemptId: first, status: 'succeeded' });

    const job = await jobs.get(publicId);
    expect(job?.status).toBe('running');
    expect(job?.attempts).toBe(2);
    const attempts = await jobs.attempts(jobId);
    expect(attempts.map((a) => [a.attemptId, a.status, a.errorCode])).toEqual([
      [first, 'failed', 'node_disconnected'],
      [second, 'succeeded', undefined],
    ]);
    expect(attempts.every((a) => a.node === node && a.finishedAt !== undefined)).toBe(true);
  });

  it('finishes a job once, with its result or its error', async () => {
    const ok = await newJob();
    expect(
      await jobs.finish({ jobId: ok.jobId, status: 'succeeded', result: { text: 'hello', list: [1] } }),
    ).toBe(true);
    expect(await jobs.finish({ jobId: ok.jobId, status: 'failed', errorCode: 'node_failed' })).toBe(false);
    const done = await jobs.get(ok.publicId);
    expect(done).toMatchObject({
      status: 'succeeded',
      result: { text: 'hello', list: [1] },
      error: undefined,
    });
    expect(done?.finishedAt).toBeTypeOf('number');

    const failed = await newJob();
    await jobs.finish({
      jobId: failed.jobId,
      status: 'failed',
      errorCode: 'no_node_available',
      errorMessage: 'none',
    });
    expect((await jobs.get(failed.publicId))?.error).toEqual({ code: 'no_node_available', message: 'none' });
  });

  it('finishes a job with the attempts it kept in memory, stored and counted once', async () => {
    const { jobId, publicId } = await newJob();
    const attempts = [
      {
        attemptId: attemptIdFor(jobId, 0),
        node,
        status: 'failed' as const,
        errorCode: 'node_lost',
        startedAt: 5,
        finishedAt: 6,
      },
      { attemptId: attemptIdFor(jobId, 1), node, status: 'succeeded' as const, startedAt: 7, finishedAt: 9 },
    ];
    expect(await jobs.finish({ jobId, status: 'succeeded', attempts })).toBe(true);
    expect(await jobs.finish({ jobId, status: 'failed', attempts })).toBe(false);
    expect(await jobs.get(publicId)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await jobs.attempts(jobId)).toEqual([
      {
        attemptId: attempts[0]?.attemptId,
        jobId,
        node,
        status: 'failed',
        errorCode: 'node_lost',
        startedAt: 5,
        finishedAt: 6,
      },
      {
        attemptId: attempts[1]?.attemptId,
        jobId,
        node,
        status: 'succeeded',
        errorCode: undefined,
        startedAt: 7,
        finishedAt: 9,
      },
    ]);
    // An unknown job ends nowhere, and gains no orphan attempts.
    const unknown = randomBytes32();
    expect(await jobs.finish({ jobId: unknown, status: 'failed', attempts })).toBe(false);
    expect(await jobs.attempts(unknown)).toEqual([]);
  });

  it('refuses attempts on unknown or finished jobs', async () => {
    await expect(
      jobs.attemptStarted({ jobId: randomBytes32(), attemptId: randomBytes32(), node }),
    ).rejects.toMatchObject({ code: 'job_not_found' });
    const { jobId } = await newJob();
    await jobs.finish({ jobId, status: 'cancelled' });
    await expect(
      jobs.attemptStarted({ jobId, attemptId: attemptIdFor(jobId, 0), node }),
    ).rejects.toMatchObject({
      code: 'job_not_found',
    });
    expect(await jobs.attempts(jobId)).toEqual([]);
  });

  it('refuses a duplicate job id or public id, and a status that is not final', async () => {
    const { jobId, publicId } = await newJob();
    await expect(
      jobs.create({ jobId, publicId: newApiId('job'), payer, podId, kind: 'chat' }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      jobs.create({ jobId: randomBytes32(), publicId, payer, podId, kind: 'chat' }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(jobs.finish({ jobId, status: 'running' as 'failed' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it("lists a payer's jobs-API jobs newest first, in pages, through the partial index", async () => {
    const lister: Address = getAddress('0x90f79bf6eb2c4f870365e785982e1f101e93b906');
    const other: Address = getAddress('0x15d34aaf54267db7d7c367839aaf71a00a2c6a65');
    const at = async (publicId: string, createdAt: number, who = lister) => {
      await jobs.create({ jobId: randomBytes32(), publicId, payer: who, podId, kind: 'generic' });
      await store.query('update jobs set created_at = $2 where public_id = $1', [publicId, createdAt]);
    };
    // Two at the same millisecond, told apart byte by byte: 'a' (0x61) sorts after 'B' (0x42).
    const ids = {
      oldest: `job_${'0'.repeat(24)}`,
      tieB: `job_B${'0'.repeat(23)}`,
      tieA: `job_a${'0'.repeat(23)}`,
      newest: `job_${'9'.repeat(24)}`,
    };
    await at(ids.oldest, 1_000);
    await at(ids.tieB, 2_000);
    await at(ids.tieA, 2_000);
    await at(ids.newest, 3_000);
    await at(`chatcmpl-${'1'.repeat(24)}`, 2_500);
    await at(`job_${'5'.repeat(24)}`, 2_500, other);

    const all = await jobs.listApiJobs(lister, { limit: 10 });
    expect(all.map((j) => j.publicId)).toEqual([ids.newest, ids.tieA, ids.tieB, ids.oldest]);
    const first = await jobs.listApiJobs(lister, { limit: 2 });
    expect(first.map((j) => j.publicId)).toEqual([ids.newest, ids.tieA]);
    const last = first.at(-1) as { createdAt: number; publicId: string };
    const rest = await jobs.listApiJobs(lister, { limit: 2, before: last });
    expect(rest.map((j) => j.publicId)).toEqual([ids.tieB, ids.oldest]);
    expect(await jobs.listApiJobs(lister, { limit: 2, before: rest[1] })).toEqual([]);
    await expect(jobs.listApiJobs(lister, { limit: 0 })).rejects.toMatchObject({ param: 'limit' });

    // The listing reads the partial index (the planner told to avoid a scan of the whole table).
    const plan = await store.transaction(async (tx) => {
      await tx.query('set local enable_seqscan = off');
      const rows = await tx.query<Record<string, string>>(
        `explain select * from jobs j where j.payer = $1 and starts_with(j.public_id, 'job_')
           and (j.created_at, j.public_id collate "C") < ($2, $3)
         order by j.created_at desc, j.public_id collate "C" desc limit 3`,
        [lister, 2_000, ids.tieA],
      );
      return rows.map((row) => Object.values(row)[0]).join('\n');
    });
    expect(plan).toContain('jobs_api_list_idx');
    expect(plan).not.toMatch(/\bSort\b/);
  });

  it('answers undefined for an unknown public id', async () => {
    expect(await jobs.get('job_doesnotexist000000000000')).toBeUndefined();
    expect(await jobs.get("'; drop table jobs; --")).toBeUndefined();
  });
});
