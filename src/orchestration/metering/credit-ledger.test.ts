// The ledger's read side against a real chain (anvil with the protocol deployed) and both stores: what a
// payer has available (on-chain credits less unsettled receipts and live leases), leases, receipts.
import { type Address, getAddress, type Hex, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { devAccount, devRoleAccount } from '../../chain/dev-accounts.ts';
import { computeCreditsAbi } from '../../chain/generated/index.ts';
import { RetryableError } from '../../protocol/errors.ts';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import { hashReceipt } from '../../protocol/receipt.ts';
import {
  type ProtocolFixture,
  signedReceipt,
  startProtocolFixture,
} from '../settlement/testing/protocol-fixture.ts';
import type { Store } from '../store/store.ts';
import { CreditLedger } from './credit-ledger.ts';
import { chainCreditsSource } from './credits-source.ts';
import { endedEntry } from './metering-entries.ts';
import { ingestEntries } from './metering-ingest.ts';

const node = devAccount(10);
const otherNode = devAccount(11);
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
  const db = freshStoreFor(backend);
  let store: Store;
  let ledger: CreditLedger;

  beforeAll(async () => {
    store = db.store;
    const credits = chainCreditsSource({
      publicClient: chain.publicClient,
      computeCredits: chain.book.contracts.computeCredits,
      maxAgeMs: 0,
    });
    ledger = new CreditLedger({ store, credits });
  });

  const fundedPayer = async (amount: bigint) => {
    const payer = newPayer();
    await chain.fund(payer, amount);
    return payer;
  };
  /** A receipt stored as metering stores it: the job's end with its charge, ingested. */
  const storedCharge = async (payer: Address, charged: bigint, by = node) => {
    const jobId = randomBytes32();
    const { receipt, nodeSignature } = await signedReceipt(chain.domain, by, {
      jobId,
      podId,
      payer,
      price: charged,
    });
    const job = {
      jobId,
      publicId: newApiId('job'),
      payer,
      podId,
      kind: 'chat' as const,
      createdAt: Date.now(),
    };
    const entry = endedEntry(
      job,
      { status: 'succeeded' },
      {
        receipt,
        receiptHash: hashReceipt(receipt),
        nodeSignature,
        charged,
      },
    );
    await store.transaction((tx) => ingestEntries(tx, 'router-test', [entry]));
    return { jobId, receipt, nodeSignature };
  };
  const lease = (holder: string, payer: Address, amount: bigint, expiresAt: number) =>
    store.query(
      'insert into credit_leases (holder, payer, amount, created_at, expires_at) values ($1, $2, $3, $4, $5)',
      [holder, getAddress(payer), amount, Date.now(), expiresAt],
    );
  const settle = (jobId: Hex, at: number) =>
    store.query('update receipts set settled_at = $2 where job_id = $1', [jobId.toLowerCase(), at]);

  it('answers the on-chain credits when nothing is used', async () => {
    const payer = await fundedPayer(1_000n);
    expect(await ledger.available(payer)).toBe(1_000n);
    expect(await ledger.available(getAddress(payer).toLowerCase() as Address)).toBe(1_000n);
    expect(await ledger.leased(payer)).toBe(0n);
    expect(await ledger.available(newPayer())).toBe(0n);
  });

  it('counts unsettled receipts, and settled ones only while a balance read may predate their debit', async () => {
    const payer = await fundedPayer(1_000n);
    const first = await storedCharge(payer, 300n);
    await storedCharge(payer, 50n);
    expect(await ledger.available(payer)).toBe(650n);
    // Settled just now: the chain's debit may not be in the balance read yet, so it still counts.
    await settle(first.jobId, Date.now());
    expect(await ledger.available(payer)).toBe(650n);
    // Settled long ago: the balance has it (here nobody debited the chain, so it shows as credit again).
    await settle(first.jobId, Date.now() - 60_000);
    expect(await ledger.available(payer)).toBe(950n);
  });

  it('counts live leases of every router, not expired ones; leased sums the live ones', async () => {
    const payer = await fundedPayer(1_000n);
    const now = Date.now();
    await lease('router-1', payer, 200n, now + 60_000);
    await lease('router-2', payer, 300n, now + 60_000);
    await lease('router-dead', payer, 400n, now - 1);
    expect(await ledger.leased(payer)).toBe(500n);
    expect(await ledger.available(payer)).toBe(500n);
    await storedCharge(payer, 100n);
    expect(await ledger.available(payer)).toBe(400n);
    // Leases and receipts beyond the credits (a withdrawal since): available goes negative.
    await lease('router-3', payer, 900n, now + 60_000);
    expect(await ledger.available(payer)).toBe(-500n);
    expect(await ledger.leased(payer)).toBe(1_400n);
    expect(await ledger.leased(newPayer())).toBe(0n);
  });

  it('lists stored receipts by job, payer, node, pod and settlement, oldest first', async () => {
    const payer = await fundedPayer(1_000n);
    const a = await storedCharge(payer, 10n);
    const b = await storedCharge(payer, 20n, otherNode);
    const c = await storedCharge(payer, 30n);
    const [stored] = await ledger.receiptsFor({ jobId: a.jobId });
    expect(stored).toMatchObject({
      charged: 10n,
      receiptHash: hashReceipt(a.receipt),
      nodeSignature: a.nodeSignature.toLowerCase(),
      routerSignature: undefined,
      batch: undefined,
      settledAt: undefined,
    });
    expect(stored?.receipt).toEqual(a.receipt);
    const jobsOf = (list: { receipt: { jobId: Hex } }[]) => list.map((r) => r.receipt.jobId);
    expect(jobsOf(await ledger.receiptsFor({ payer }))).toEqual([a.jobId, b.jobId, c.jobId]);
    expect(jobsOf(await ledger.receiptsFor({ payer, node: otherNode.address }))).toEqual([b.jobId]);
    expect(jobsOf(await ledger.receiptsFor({ payer, podId }))).toHaveLength(3);
    expect(jobsOf(await ledger.receiptsFor({ payer, limit: 2 }))).toEqual([a.jobId, b.jobId]);
    await settle(b.jobId, Date.now());
    expect(jobsOf(await ledger.receiptsFor({ payer, settled: true }))).toEqual([b.jobId]);
    expect(jobsOf(await ledger.receiptsFor({ payer, settled: false }))).toEqual([a.jobId, c.jobId]);
    expect(await ledger.receiptsFor({ payer: newPayer() })).toEqual([]);
  });

  it('refuses malformed input', async () => {
    await expect(ledger.available('0x0' as Address)).rejects.toMatchObject({
      code: 'invalid_request',
      param: 'payer',
    });
    await expect(ledger.leased('nope' as Address)).rejects.toMatchObject({
      code: 'invalid_request',
      param: 'payer',
    });
    await expect(ledger.receiptsFor({ jobId: '0x12' as Hex })).rejects.toMatchObject({ param: 'jobId' });
    await expect(ledger.receiptsFor({ node: '0x12' as Address })).rejects.toMatchObject({ param: 'node' });
    await expect(ledger.attestedReceipt('0x12' as Hex)).rejects.toMatchObject({
      code: 'invalid_request',
      param: 'jobId',
    });
    // A well-formed id of no stored receipt has no evidence, rather than an error.
    expect(await ledger.attestedReceipt(`0x${'ab'.repeat(32)}`)).toBeUndefined();
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
