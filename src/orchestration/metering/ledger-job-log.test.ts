// The ledger writing the jobs log in its own transactions: a job is logged with its reservation, and
// ends (with its attempts) with its charge or its release, all or nothing.
import { type Address, getAddress, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { type StoreTarget, storeBackends } from '../../../test/support/postgres.ts';
import { devAccount, devRoleAccount } from '../../chain/dev-accounts.ts';
import { attemptIdFor, newApiId, randomBytes32 } from '../../protocol/ids.ts';
import {
  type ProtocolFixture,
  signedReceipt,
  startProtocolFixture,
} from '../settlement/testing/protocol-fixture.ts';
import type { Store } from '../store/store.ts';
import { CreditLedger } from './credit-ledger.ts';
import { chainCreditsSource } from './credits-source.ts';
import type { EndedAttempt } from './job-rows.ts';
import { JobStore } from './job-store.ts';

const node = devAccount(10);
const otherNode = getAddress(devAccount(11).address);
const newPayer = (): Address => privateKeyToAccount(generatePrivateKey()).address;

let chain: ProtocolFixture;
let podId: Hex;

beforeAll(async () => {
  chain = await startProtocolFixture(await freePort());
  podId = await chain.registerPod(devRoleAccount('podDeployer'), { deployerShareBps: 2_000 });
});

afterAll(async () => {
  await chain?.stop();
});

describe.each(storeBackends())('CreditLedger with the jobs log on $kind', (backend) => {
  let target: StoreTarget;
  let store: Store;
  let ledger: CreditLedger;
  let jobs: JobStore;

  beforeAll(async () => {
    target = await backend.fresh();
    store = await target.open();
    const credits = chainCreditsSource({
      publicClient: chain.publicClient,
      computeCredits: chain.book.contracts.computeCredits,
      maxAgeMs: 0,
    });
    ledger = new CreditLedger({ store, credits });
    jobs = new JobStore(store);
  });

  afterAll(async () => {
    await store?.close();
    await target?.dispose();
  });

  const fundedPayer = async (amount: bigint) => {
    const payer = newPayer();
    await chain.fund(payer, amount);
    return payer;
  };
  /** A job reserved and logged in one call. */
  const reservedJob = async (payer: Address, amount: bigint) => {
    const jobId = randomBytes32();
    const publicId = newApiId('job');
    await ledger.reserve({ jobId, payer, amount, job: { publicId, apiKeyId: 'key_1', podId, kind: 'chat' } });
    return { jobId, publicId };
  };
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

  it('logs the job queued with its reservation', async () => {
    const payer = await fundedPayer(1_000n);
    const { jobId, publicId } = await reservedJob(payer, 300n);
    expect(await jobs.get(publicId)).toMatchObject({
      jobId,
      publicId,
      apiKeyId: 'key_1',
      payer,
      podId,
      kind: 'chat',
      status: 'queued',
      attempts: 0,
      finishedAt: undefined,
    });
    expect(await ledger.reserved(payer)).toBe(300n);
  });

  it('refused for lack of credits, logs the job failed and reserves nothing', async () => {
    const payer = await fundedPayer(100n);
    const jobId = randomBytes32();
    const publicId = newApiId('job');
    const job = { publicId, apiKeyId: 'key_1', podId, kind: 'chat' as const };
    await expect(ledger.reserve({ jobId, payer, amount: 101n, job })).rejects.toMatchObject({
      code: 'insufficient_credits',
      status: 402,
    });
    const logged = await jobs.get(publicId);
    expect(logged).toMatchObject({ status: 'failed', error: { code: 'insufficient_credits' } });
    expect(logged?.error?.message).toMatch(/100 wei available, 101 wei required/);
    expect(logged?.finishedAt).toBeGreaterThan(0);
    expect(await ledger.reserved(payer)).toBe(0n);
  });

  it('reserves nothing when the job cannot be logged (its public id is taken), and the other job stays', async () => {
    const payer = await fundedPayer(1_000n);
    const first = await reservedJob(payer, 100n);
    const jobId = randomBytes32();
    const job = { publicId: first.publicId, apiKeyId: 'key_2', podId, kind: 'chat' as const };
    await expect(ledger.reserve({ jobId, payer, amount: 100n, job })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(await ledger.reserved(payer)).toBe(100n);
    expect(await jobs.get(first.publicId)).toMatchObject({ jobId: first.jobId, apiKeyId: 'key_1' });
    // Nor twice under one job id.
    await expect(
      ledger.reserve({ jobId: first.jobId, payer, amount: 1n, job: { ...job, publicId: newApiId('job') } }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await ledger.reserved(payer)).toBe(100n);
  });

  it('charges and ends the job with its result and attempts in one step', async () => {
    const payer = await fundedPayer(1_000n);
    const { jobId, publicId } = await reservedJob(payer, 100n);
    const { receipt, nodeSignature } = await signedReceipt(chain.domain, node, {
      jobId,
      podId,
      payer,
      price: 150n,
    });
    const seen: bigint[] = [];
    const answer = await ledger.charge({
      jobId,
      receipt,
      nodeSignature,
      ending: (charged) => {
        seen.push(charged);
        return { status: 'succeeded', result: { charged: charged.toString() }, attempts: attemptsOf(jobId) };
      },
    });
    expect(answer).toEqual({ charged: 100n, duplicate: false });
    expect(seen.at(-1)).toBe(100n);
    expect(await jobs.get(publicId)).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      result: { charged: '100' },
      error: undefined,
      usage: { price: 100n, computeUnits: receipt.computeUnits },
    });
    const attempts = await jobs.attempts(jobId);
    expect(attempts.map((a) => [a.node, a.status, a.errorCode])).toEqual([
      [otherNode, 'failed', 'node_lost'],
      [node.address, 'succeeded', undefined],
    ]);
    expect(await ledger.reserved(payer)).toBe(0n);

    // Charged again: the first charge answers, the log keeps the first end.
    const again = await ledger.charge({
      jobId,
      receipt,
      nodeSignature,
      ending: () => ({
        status: 'failed',
        errorCode: 'internal_error',
        attempts: attemptsOf(randomBytes32()),
      }),
    });
    expect(again).toEqual({ charged: 100n, duplicate: true });
    expect(await jobs.get(publicId)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await jobs.attempts(jobId)).toHaveLength(2);
  });

  it('leaves the job running and its credits held when the charge is refused', async () => {
    const payer = await fundedPayer(1_000n);
    const { jobId, publicId } = await reservedJob(payer, 100n);
    const foreign = await signedReceipt(chain.domain, node, { jobId, podId, payer: newPayer(), price: 10n });
    const ending = () => ({ status: 'succeeded' as const, attempts: attemptsOf(jobId) });
    await expect(ledger.charge({ jobId, ...foreign, ending })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    const own = await signedReceipt(chain.domain, node, { jobId, podId, payer, price: 10n });
    await expect(
      ledger.charge({ jobId, ...own, ending: () => ({ status: 'done' as 'failed', attempts: [] }) }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await jobs.get(publicId)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await jobs.attempts(jobId)).toEqual([]);
    expect(await ledger.reserved(payer)).toBe(100n);
    expect(await ledger.receiptsFor({ jobId })).toEqual([]);
  });

  it('releases and ends a failed job in one step: free, with its attempts', async () => {
    const payer = await fundedPayer(1_000n);
    const { jobId, publicId } = await reservedJob(payer, 100n);
    const [failed] = attemptsOf(jobId);
    const ending = { status: 'failed' as const, errorCode: 'node_lost', attempts: failed ? [failed] : [] };
    expect(await ledger.release(jobId, ending)).toBe(true);
    expect(await jobs.get(publicId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'node_lost' },
      usage: undefined,
    });
    expect(await ledger.reserved(payer)).toBe(0n);
    expect(await ledger.available(payer)).toBe(1_000n);
    // Released again: nothing to free, the first end stays.
    expect(await ledger.release(jobId, { status: 'cancelled', attempts: [] })).toBe(false);
    expect(await jobs.get(publicId)).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('frees nothing when the job end is malformed', async () => {
    const payer = await fundedPayer(1_000n);
    const { jobId, publicId } = await reservedJob(payer, 100n);
    await expect(
      ledger.release(jobId, { status: 'running' as 'failed', attempts: [] }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await ledger.reserved(payer)).toBe(100n);
    expect(await jobs.get(publicId)).toMatchObject({ status: 'queued' });
  });
});
