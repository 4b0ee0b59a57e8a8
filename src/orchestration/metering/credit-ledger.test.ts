// The ledger against a real chain (anvil with the protocol deployed) and both stores.
import { type Address, getAddress, type Hex, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { type StoreTarget, storeBackends } from '../../../test/support/postgres.ts';
import { devAccount, devRoleAccount } from '../../chain/dev-accounts.ts';
import { computeCreditsAbi } from '../../chain/generated/index.ts';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import {
  type ProtocolFixture,
  signedReceipt,
  startProtocolFixture,
} from '../settlement/testing/protocol-fixture.ts';
import type { Store } from '../store/store.ts';
import { CreditLedger } from './credit-ledger.ts';
import { chainCreditsSource } from './credits-source.ts';
import { JobStore } from './job-store.ts';

const node = devAccount(10);
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

describe.each(storeBackends())('CreditLedger on $kind', (backend) => {
  let target: StoreTarget;
  let store: Store;
  let ledger: CreditLedger;

  beforeAll(async () => {
    target = await backend.fresh();
    store = await target.open();
    const credits = chainCreditsSource({
      publicClient: chain.publicClient,
      computeCredits: chain.book.contracts.computeCredits,
      maxAgeMs: 0,
    });
    ledger = new CreditLedger({ store, credits });
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
  const receiptFor = (jobId: Hex, payer: Address, price: bigint) =>
    signedReceipt(chain.domain, node, { jobId, podId, payer, price });

  it('reserves, charges the measured price, and frees the rest', async () => {
    const payer = await fundedPayer(1_000n);
    const jobId = randomBytes32();
    await ledger.reserve({ jobId, payer, amount: 300n });
    expect(await ledger.available(payer)).toBe(700n);
    expect(await ledger.reserved(payer)).toBe(300n);

    const { receipt, nodeSignature } = await receiptFor(jobId, payer, 120n);
    expect(await ledger.charge({ jobId, receipt, nodeSignature })).toEqual({
      charged: 120n,
      duplicate: false,
    });
    expect(await ledger.available(payer)).toBe(880n);
    expect(await ledger.reserved(payer)).toBe(0n);

    const [stored] = await ledger.receiptsFor({ jobId });
    expect(stored).toMatchObject({
      charged: 120n,
      nodeSignature: nodeSignature.toLowerCase(),
      batch: undefined,
    });
    expect(stored?.receipt).toEqual(receipt);
    expect(stored?.settledAt).toBeUndefined();
  });

  it('charges a job at most once, also when two charges race', async () => {
    const payer = await fundedPayer(1_000n);
    const jobId = randomBytes32();
    await ledger.reserve({ jobId, payer, amount: 500n });
    const { receipt, nodeSignature } = await receiptFor(jobId, payer, 200n);
    const results = await Promise.all([
      ledger.charge({ jobId, receipt, nodeSignature }),
      ledger.charge({ jobId, receipt, nodeSignature }),
    ]);
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
    expect(results.every((r) => r.charged === 200n)).toBe(true);
    // A later retry with another attempt's receipt is still the same job: not charged again.
    const again = await receiptFor(jobId, payer, 999n);
    expect(await ledger.charge({ jobId, ...again })).toEqual({ charged: 200n, duplicate: true });
    expect(await ledger.receiptsFor({ jobId })).toHaveLength(1);
    expect(await ledger.available(payer)).toBe(800n);
  });

  it('caps a charge at the reservation', async () => {
    const payer = await fundedPayer(1_000n);
    const jobId = randomBytes32();
    await ledger.reserve({ jobId, payer, amount: 50n });
    const { receipt, nodeSignature } = await receiptFor(jobId, payer, 80n);
    expect(await ledger.charge({ jobId, receipt, nodeSignature })).toEqual({
      charged: 50n,
      duplicate: false,
    });
    expect(await ledger.available(payer)).toBe(950n);
  });

  it('makes a failed job free: release stores nothing and restores the credits', async () => {
    const payer = await fundedPayer(1_000n);
    const jobId = randomBytes32();
    await ledger.reserve({ jobId, payer, amount: 400n });
    expect(await ledger.release(jobId)).toBe(true);
    expect(await ledger.release(jobId)).toBe(false);
    expect(await ledger.release(randomBytes32())).toBe(false);
    expect(await ledger.available(payer)).toBe(1_000n);
    // A result arriving after the release is not charged.
    const late = await receiptFor(jobId, payer, 100n);
    await expect(ledger.charge({ jobId, ...late })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await ledger.receiptsFor({ jobId })).toEqual([]);
    expect(await ledger.receiptsFor({ payer })).toEqual([]);
  });

  it('refuses a reservation beyond the available credits with insufficient_credits (402)', async () => {
    const payer = await fundedPayer(100n);
    await ledger.reserve({ jobId: randomBytes32(), payer, amount: 60n });
    const error = await ledger
      .reserve({ jobId: randomBytes32(), payer, amount: 41n })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect(error).toMatchObject({ code: 'insufficient_credits', status: 402 });
    expect((error as FatalError).details).toMatchObject({ payer, available: '40', required: '41' });
    await ledger.reserve({ jobId: randomBytes32(), payer, amount: 40n });
    expect(await ledger.available(payer)).toBe(0n);
    // A payer who never deposited has nothing.
    await expect(
      ledger.reserve({ jobId: randomBytes32(), payer: newPayer(), amount: 1n }),
    ).rejects.toMatchObject({
      code: 'insufficient_credits',
    });
  });

  it('never overspends under many concurrent reservations of one payer', async () => {
    const payer = await fundedPayer(10_000n);
    const attempts = Array.from({ length: 40 }, () =>
      ledger.reserve({ jobId: randomBytes32(), payer, amount: 1_000n }),
    );
    const outcomes = await Promise.allSettled(attempts);
    const granted = outcomes.filter((o) => o.status === 'fulfilled').length;
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(granted).toBe(10);
    expect(refused).toHaveLength(30);
    expect(refused.every((o) => (o as PromiseRejectedResult).reason?.code === 'insufficient_credits')).toBe(
      true,
    );
    expect(await ledger.reserved(payer)).toBe(10_000n);
    expect(await ledger.available(payer)).toBe(0n);
  });

  it('never overspends when reservations and charges of one payer interleave', async () => {
    const payer = await fundedPayer(5_000n);
    const jobs = Array.from({ length: 20 }, () => randomBytes32());
    const work = jobs.map(async (jobId) => {
      await ledger.reserve({ jobId, payer, amount: 500n });
      const { receipt, nodeSignature } = await receiptFor(jobId, payer, 400n);
      await ledger.charge({ jobId, receipt, nodeSignature });
    });
    const outcomes = await Promise.allSettled(work);
    const done = outcomes.filter((o) => o.status === 'fulfilled').length;
    const charged = (await ledger.receiptsFor({ payer })).reduce((sum, r) => sum + r.charged, 0n);
    expect(charged).toBe(BigInt(done) * 400n);
    expect(charged).toBeLessThanOrEqual(5_000n);
    expect(done).toBeGreaterThanOrEqual(10);
    expect(await ledger.available(payer)).toBe(5_000n - charged);
  });

  it('lets an expired reservation stop holding credits', async () => {
    const payer = await fundedPayer(1_000n);
    const stale = randomBytes32();
    await ledger.reserve({ jobId: stale, payer, amount: 900n, expiresAt: Date.now() - 1 });
    expect(await ledger.available(payer)).toBe(1_000n);
    await ledger.reserve({ jobId: randomBytes32(), payer, amount: 1_000n, expiresAt: Date.now() + 60_000 });
    expect(await ledger.releaseExpired()).toBeGreaterThanOrEqual(1);
    expect(await ledger.release(stale)).toBe(false);
  });

  it('refuses a second reservation for a job, and one for a charged job', async () => {
    const payer = await fundedPayer(1_000n);
    const jobId = randomBytes32();
    await ledger.reserve({ jobId, payer, amount: 10n });
    await expect(ledger.reserve({ jobId, payer, amount: 10n })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    const { receipt, nodeSignature } = await receiptFor(jobId, payer, 10n);
    await ledger.charge({ jobId, receipt, nodeSignature });
    await expect(ledger.reserve({ jobId, payer, amount: 10n })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(await ledger.available(payer)).toBe(990n);
  });

  it('refuses receipts that do not belong to the reservation', async () => {
    const payer = await fundedPayer(1_000n);
    const jobId = randomBytes32();
    await ledger.reserve({ jobId, payer, amount: 100n });
    const otherJob = await receiptFor(randomBytes32(), payer, 10n);
    await expect(ledger.charge({ jobId, ...otherJob })).rejects.toMatchObject({ code: 'invalid_request' });
    const otherPayer = await receiptFor(jobId, newPayer(), 10n);
    await expect(ledger.charge({ jobId, ...otherPayer })).rejects.toMatchObject({ code: 'invalid_request' });
    const broken = await receiptFor(jobId, payer, 10n);
    broken.receipt.finishedAt = broken.receipt.startedAt - 1;
    await expect(ledger.charge({ jobId, ...broken })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await ledger.receiptsFor({ payer })).toEqual([]);
    expect(await ledger.reserved(payer)).toBe(100n);
  });

  it('refuses malformed input before touching the store', async () => {
    const payer = await fundedPayer(1_000n);
    await expect(ledger.reserve({ jobId: '0x12' as Hex, payer, amount: 1n })).rejects.toMatchObject({
      param: 'jobId',
    });
    await expect(
      ledger.reserve({ jobId: randomBytes32(), payer: '0xnope' as Address, amount: 1n }),
    ).rejects.toMatchObject({
      param: 'payer',
    });
    await expect(ledger.reserve({ jobId: randomBytes32(), payer, amount: -1n })).rejects.toMatchObject({
      param: 'amount',
    });
    await expect(
      ledger.reserve({ jobId: randomBytes32(), payer, amount: 1 as unknown as bigint }),
    ).rejects.toMatchObject({
      param: 'amount',
    });
    await expect(ledger.release('not a job' as Hex)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(ledger.available('0x0' as Address)).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await ledger.reserved(payer)).toBe(0n);
  });

  it('shows the charge as job usage in the jobs log', async () => {
    const jobs = new JobStore(store);
    const payer = await fundedPayer(1_000n);
    const jobId = randomBytes32();
    const publicId = newApiId('job');
    await jobs.create({ jobId, publicId, payer, podId, kind: 'chat' });
    await ledger.reserve({ jobId, payer, amount: 100n });
    const { receipt, nodeSignature } = await receiptFor(jobId, payer, 70n);
    await ledger.charge({ jobId, receipt, nodeSignature });
    expect((await jobs.get(publicId))?.usage).toEqual({
      computeUnits: receipt.computeUnits,
      price: 70n,
      inputTokens: receipt.inputTokens,
      outputTokens: receipt.outputTokens,
    });
  });
});

describe('chainCreditsSource', () => {
  it('reads spendable credits: deposits minus a pending withdrawal', async () => {
    const developer = devRoleAccount('developer');
    const source = chainCreditsSource({
      publicClient: chain.publicClient,
      computeCredits: chain.book.contracts.computeCredits,
      maxAgeMs: 0,
    });
    const before = await source.balanceOf(developer.address);
    await chain.fund(developer.address, parseEther('3'));
    expect(await source.balanceOf(developer.address)).toBe(before + parseEther('3'));
    await chain.write(developer, {
      address: chain.book.contracts.computeCredits,
      abi: computeCreditsAbi,
      functionName: 'requestWithdrawal',
      args: [parseEther('1')],
    });
    expect(await source.balanceOf(developer.address)).toBe(before + parseEther('2'));
  });

  it('answers from its cache within maxAgeMs', async () => {
    const payer = newPayer();
    const cached = chainCreditsSource({
      publicClient: chain.publicClient,
      computeCredits: chain.book.contracts.computeCredits,
      maxAgeMs: 60_000,
    });
    expect(cached.maxAgeMs).toBe(60_000);
    expect(await cached.balanceOf(payer)).toBe(0n);
    await chain.fund(payer, 5n);
    expect(await cached.balanceOf(getAddress(payer.toLowerCase()))).toBe(0n);
    const fresh = chainCreditsSource({
      publicClient: chain.publicClient,
      computeCredits: chain.book.contracts.computeCredits,
      maxAgeMs: 0,
    });
    expect(await fresh.balanceOf(payer)).toBe(5n);
  });

  it('turns a failed read into a retryable chain_error', async () => {
    const source = chainCreditsSource({
      publicClient: chain.publicClient,
      computeCredits: newPayer(), // no contract there
      maxAgeMs: 60_000,
    });
    const error = await source.balanceOf(newPayer()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ code: 'chain_error' });
  });
});
