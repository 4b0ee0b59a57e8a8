// The batcher on a real anvil with the protocol deployed, against both stores: batches by count and by
// age, restarts at every point of a batch's life, and on-chain earnings equal to the stored receipts.

import { pino } from 'pino';
import { type Address, getAddress, type Hex, keccak256, toHex, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { type StoreTarget, storeBackends } from '../../../test/support/postgres.ts';
import { devAccount, devRoleAccount } from '../../chain/dev-accounts.ts';
import {
  computeCreditsAbi,
  podRegistryAbi,
  settlementAbi,
  stakedNeurinoAbi,
} from '../../chain/generated/index.ts';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import { newApiId } from '../../protocol/ids.ts';
import { hashReceipt } from '../../protocol/receipt.ts';
import { CreditLedger } from '../metering/credit-ledger.ts';
import { chainCreditsSource } from '../metering/credits-source.ts';
import { Metering } from '../metering/metering.ts';
import { endedEntry } from '../metering/metering-entries.ts';
import { ingestEntries } from '../metering/metering-ingest.ts';
import type { StoredReceipt } from '../metering/receipt-rows.ts';
import type { Store } from '../store/store.ts';
import { aggregateReceipts } from './aggregate.ts';
import { settleBatchArgs } from './batch-call.ts';
import { batchContents } from './batch-contents.ts';
import { batchRecord, cutBatch, pendingBatches } from './batch-records.ts';
import { SettlementBatcher, type SettlementBatcherOptions } from './settlement-batcher.ts';
import { type RevenueTerms, splitLines } from './split.ts';
import {
  BUYBACK_BPS,
  FRONTEND_BPS,
  type ProtocolFixture,
  signedReceipt,
  startProtocolFixture,
} from './testing/protocol-fixture.ts';

const nodes = [devAccount(10), devAccount(12)] as const;
const frontend = devRoleAccount('frontend').address;
const newPayer = (): Address => privateKeyToAccount(generatePrivateKey()).address;

describe.each(storeBackends())('SettlementBatcher on $kind', (backend) => {
  let chain: ProtocolFixture;
  let target: StoreTarget;
  let store: Store;
  let ledger: CreditLedger;
  let pods: [Hex, Hex];
  const funded = new Map<Address, bigint>();
  const running: SettlementBatcher[] = [];

  const router = () => chain.routerWallet.account.address;
  const openLedger = (s: Store) =>
    new CreditLedger({
      store: s,
      credits: chainCreditsSource({
        publicClient: chain.publicClient,
        computeCredits: chain.book.contracts.computeCredits,
        maxAgeMs: 0,
      }),
    });
  const batcher = (overrides: Partial<SettlementBatcherOptions> = {}) => {
    const created = new SettlementBatcher({
      store,
      publicClient: chain.publicClient,
      walletClient: chain.routerWallet,
      settlement: chain.book.contracts.settlement,
      maxReceipts: 1_000,
      maxDelayMs: 3_600_000,
      ...overrides,
    });
    running.push(created);
    return created;
  };
  /** The router process dies and comes back: a new store connection, a new ledger. */
  const restartStore = async () => {
    for (const b of running.splice(0)) await b.stop();
    await store.close();
    store = await target.open();
    ledger = openLedger(store);
  };

  const fundedPayer = async (amount: bigint) => {
    const payer = newPayer();
    await chain.fund(payer, amount);
    funded.set(payer, amount);
    return payer;
  };

  /** Runs `count` jobs through reserve and charge, as the gateway does (each charge stored at once). */
  const chargeJobs = async (count: number, payer: Address, price = 10_000n) => {
    const metering = new Metering({
      store,
      credits: chainCreditsSource({
        publicClient: chain.publicClient,
        computeCredits: chain.book.contracts.computeCredits,
        maxAgeMs: 0,
      }),
      holder: 'settlement-test',
      logger: pino({ level: 'silent' }),
    });
    for (let i = 0; i < count; i++) {
      const jobId = keccak256(toHex(`job ${payer} ${i} ${Math.random()}`));
      const podId = pods[i % 2] ?? pods[0];
      await metering.reserve({
        jobId,
        payer,
        amount: price,
        job: { publicId: `job_${jobId.slice(2, 26)}`, podId, kind: 'chat' },
      });
      const { receipt, nodeSignature } = await signedReceipt(chain.domain, nodes[i % 2] ?? nodes[0], {
        jobId,
        podId,
        payer,
        price: price === 0n ? 0n : price - BigInt(i % 3) * 7n,
        frontend: i % 2 === 0 ? frontend : zeroAddress,
        computeUnits: BigInt(100 + i),
      });
      await metering.charge({ jobId, receipt, nodeSignature, ending: () => ({ status: 'succeeded' }) });
    }
  };

  /** A receipt of `payer` stored as charged without going through the ledger: nothing on-chain backs it. */
  const storeUnpaidReceipt = async (payer: Address, price: bigint) => {
    const { receipt, nodeSignature } = await signedReceipt(chain.domain, nodes[0], {
      podId: pods[0],
      payer,
      price,
    });
    const job = {
      jobId: receipt.jobId,
      publicId: newApiId('job'),
      payer,
      podId: pods[0],
      kind: 'chat' as const,
    };
    await store.transaction((tx) =>
      ingestEntries(tx, 'settlement-test', [
        endedEntry(
          { ...job, createdAt: Date.now() },
          { status: 'succeeded' },
          { receipt, receiptHash: hashReceipt(receipt), nodeSignature, charged: price },
        ),
      ]),
    );
    return receipt;
  };

  /**
   * The acceptance check: every party's on-chain earnings, every payer's remaining credits, the stNEU
   * buyback and each batch's root equal what the stored receipts say, split the way the contract does.
   */
  const expectChainMatchesStore = async (options: { foreignBatches?: number } = {}) => {
    const all = await ledger.receiptsFor({ limit: 100_000 });
    expect(all.filter((r) => r.settledAt === undefined)).toEqual([]);
    const batches = new Map<bigint, StoredReceipt[]>();
    for (const r of all) {
      if (r.batch === undefined) continue; // free receipts: nothing moved on-chain
      expect(r.batch.router).toBe(router());
      batches.set(r.batch.sequence, [...(batches.get(r.batch.sequence) ?? []), r]);
    }
    const terms = new Map<Hex, RevenueTerms>();
    for (const podId of new Set(all.map((r) => r.receipt.podId))) {
      const [deployer, deployerShareBps] = await chain.publicClient.readContract({
        address: chain.book.contracts.podRegistry,
        abi: podRegistryAbi,
        functionName: 'revenueTerms',
        args: [podId],
      });
      terms.set(podId, { deployer, deployerShareBps });
    }
    const split = { earnings: new Map<Address, bigint>(), buyback: 0n };
    for (const [sequence, receipts] of batches) {
      const record = await batchRecord(store, router(), sequence);
      expect(record?.status).toBe('settled');
      const onChainRoot = await chain.publicClient.readContract({
        address: chain.book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'batchRoot',
        args: [router(), sequence],
      });
      expect(onChainRoot).toBe(record?.receiptsRoot);
      const { lines } = aggregateReceipts(receipts.map((r) => ({ ...r.receipt, price: r.charged })));
      splitLines(
        lines,
        {
          termsOf: (id) => terms.get(id) ?? { deployer: zeroAddress, deployerShareBps: 0 },
          buybackBps: BUYBACK_BPS,
          frontendBps: FRONTEND_BPS,
        },
        split,
      );
    }
    for (const [account, amount] of split.earnings) expect(await chain.earningsOf(account)).toBe(amount);

    for (const [payer, deposit] of funded) {
      const charged = all.filter((r) => r.receipt.payer === payer).reduce((sum, r) => sum + r.charged, 0n);
      const balance = await chain.publicClient.readContract({
        address: chain.book.contracts.computeCredits,
        abi: computeCreditsAbi,
        functionName: 'balanceOf',
        args: [payer],
      });
      expect(balance).toBe(deposit - charged);
    }
    // Each stored batch applied once, nothing else from this router: no receipt settled twice.
    const events = await chain.publicClient.getContractEvents({
      address: chain.book.contracts.settlement,
      abi: settlementAbi,
      eventName: 'BatchSettled',
      args: { router: router() },
      fromBlock: 0n,
    });
    const foreign = options.foreignBatches ?? 0;
    expect(events).toHaveLength(batches.size + foreign);
    expect(await chain.nextSequence(router())).toBe(BigInt(batches.size + foreign));
    if (foreign === 0) {
      const settledCount = events.reduce((sum, e) => sum + Number(e.args.receiptCount), 0);
      expect(settledCount).toBe([...batches.values()].reduce((sum, rs) => sum + rs.length, 0));
      const buyback = await chain.publicClient.readContract({
        address: chain.book.contracts.stakedNeurino,
        abi: stakedNeurinoAbi,
        functionName: 'totalAssets',
      });
      expect(buyback).toBe(split.buyback);
    }
  };

  beforeAll(async () => {
    chain = await startProtocolFixture(await freePort());
    pods = [
      await chain.registerPod(devRoleAccount('podDeployer'), { deployerShareBps: 2_000 }),
      await chain.registerPod(devAccount(13), { deployerShareBps: 1_250 }),
    ];
    target = await backend.fresh();
    store = await target.open();
    ledger = openLedger(store);
  });

  afterEach(async () => {
    for (const b of running.splice(0)) await b.stop();
  });

  afterAll(async () => {
    await store?.close();
    await target?.dispose();
    await chain?.stop();
  });

  it('settles a batch every maxReceipts receipts, and the rest on flush', async () => {
    const payer = await fundedPayer(1_000_000n);
    const settler = batcher({ maxReceipts: 3, pollMs: 20 });
    await settler.start();
    await chargeJobs(7, payer);
    await vi.waitFor(async () => expect((await settler.stats()).receiptsSettled).toBe(6), {
      timeout: 30_000,
      interval: 50,
    });
    const waiting = await settler.stats();
    expect(waiting.unsettledReceipts).toBe(1);
    expect(waiting.batchesSettled).toBe(2);
    expect(waiting.settlementLagMs).toBeGreaterThanOrEqual(0);

    await settler.flush();
    const after = await settler.stats();
    expect(after).toMatchObject({
      receiptsSettled: 7,
      batchesSettled: 3,
      unsettledReceipts: 0,
      settlementLagMs: 0,
    });
    expect(after.lastError).toBeUndefined();
    await expectChainMatchesStore();
  });

  it('settles fewer receipts once the oldest has waited maxDelayMs', async () => {
    const payer = await fundedPayer(1_000_000n);
    const settler = batcher({ maxReceipts: 1_000, maxDelayMs: 100, pollMs: 20 });
    await settler.start();
    await chargeJobs(2, payer);
    await vi.waitFor(
      async () => expect((await ledger.receiptsFor({ payer, settled: false })).length).toBe(0),
      {
        timeout: 30_000,
        interval: 50,
      },
    );
    await expectChainMatchesStore();
  });

  it('sends nothing when nothing waits', async () => {
    const before = await chain.nextSequence(router());
    await batcher().flush();
    expect(await chain.nextSequence(router())).toBe(before);
  });

  it('closes free receipts locally: the chain refuses an empty batch', async () => {
    const payer = await fundedPayer(1_000_000n);
    const before = await chain.nextSequence(router());
    await chargeJobs(2, payer, 0n);
    await batcher().flush();
    expect(await chain.nextSequence(router())).toBe(before);
    const free = await ledger.receiptsFor({ payer });
    expect(free.map((r) => [r.charged, r.batch, typeof r.settledAt])).toEqual([
      [0n, undefined, 'number'],
      [0n, undefined, 'number'],
    ]);
    await expectChainMatchesStore();
  });

  it('restart after the batch row is written but before its transaction: settles it once', async () => {
    const payer = await fundedPayer(1_000_000n);
    const unsettled = async () => (await batcher().stats()).unsettledReceipts;
    const before = await unsettled();
    await chargeJobs(4, payer);
    expect(await unsettled()).toBe(before + 4);
    const sequence = await chain.nextSequence(router());
    const cut = await cutBatch(store, { router: router(), sequence, maxReceipts: 1_000 });
    expect(cut.kind).toBe('batch');
    // In a pending batch: still unsettled.
    expect(await unsettled()).toBe(before + 4);
    // The router dies here.
    await restartStore();
    expect((await pendingBatches(store, router())).map((b) => b.sequence)).toEqual([sequence]);

    await batcher().start();
    expect(await chain.nextSequence(router())).toBe(sequence + 1n);
    expect(await pendingBatches(store, router())).toEqual([]);
    expect((await batchRecord(store, router(), sequence))?.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await unsettled()).toBe(before);
    await expectChainMatchesStore();
  });

  it('restart after the transaction is mined but before it is marked settled: settles nothing twice', async () => {
    const payer = await fundedPayer(1_000_000n);
    await chargeJobs(5, payer);
    const sequence = await chain.nextSequence(router());
    const cut = await cutBatch(store, { router: router(), sequence, maxReceipts: 1_000 });
    if (cut.kind !== 'batch') throw new Error('expected a batch');
    const args = settleBatchArgs(cut.batch, await batchContents(store, router(), sequence));
    await chain.write(chain.routerWallet.account as never, {
      address: chain.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'settle',
      args: [args],
    });
    // The router dies before recording the outcome.
    await restartStore();
    expect(await ledger.receiptsFor({ payer, settled: true })).toEqual([]);

    await batcher().flush();
    expect(await chain.nextSequence(router())).toBe(sequence + 1n);
    expect(await ledger.receiptsFor({ payer, settled: false })).toEqual([]);
    expect((await batchRecord(store, router(), sequence))?.status).toBe('settled');
    await expectChainMatchesStore();
  });

  it('stopping and restarting between runs of jobs loses no receipt', async () => {
    const payer = await fundedPayer(1_000_000n);
    const first = batcher({ maxReceipts: 2, pollMs: 20 });
    await first.start();
    await chargeJobs(5, payer);
    await first.stop();
    await chargeJobs(3, payer); // charged while no batcher runs
    await restartStore();
    const second = batcher({ maxReceipts: 2, pollMs: 20 });
    await second.start();
    await second.flush();
    expect(await ledger.receiptsFor({ payer, settled: false })).toEqual([]);
    expect(await ledger.receiptsFor({ payer })).toHaveLength(8);
    await expectChainMatchesStore();
  });

  it('sets aside a payer whose credits are short, settles the others, and its receipts once it can pay', async () => {
    // A receipt stored without credits behind it (bypassing the ledger): the chain refuses its debit.
    const payer = newPayer();
    const receipt = await storeUnpaidReceipt(payer, 5_000n);
    // Another payer's jobs in the same cut: they must not wait for the one who cannot pay.
    const solvent = await fundedPayer(100_000n);
    await chargeJobs(2, solvent);
    const before = await chain.nextSequence(router());
    const settler = batcher();
    const error = await settler.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ code: 'chain_error', message: expect.stringMatching(/1 receipts wait/) });
    expect(await chain.nextSequence(router())).toBe(before + 1n);
    const [waiting] = await ledger.receiptsFor({ jobId: receipt.jobId });
    expect(waiting).toMatchObject({ batch: undefined, settledAt: undefined });
    expect((await ledger.receiptsFor({ payer: solvent })).every((r) => r.settledAt !== undefined)).toBe(true);
    expect(await settler.stats()).toMatchObject({ setAsideReceipts: 1, unsettledReceipts: 1 });
    const [reason] = await store.query<{ set_aside_reason: string }>(
      'select set_aside_reason from receipts where job_id = $1',
      [receipt.jobId.toLowerCase()],
    );
    expect(reason?.set_aside_reason).toMatch(/InsufficientCredits/);
    // The schedule leaves it out while its pause lasts: nothing is sent for it.
    await settler.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await chain.nextSequence(router())).toBe(before + 1n);

    await chain.fund(payer, 5_000n);
    funded.set(payer, 5_000n);
    await settler.flush();
    expect(await chain.nextSequence(router())).toBe(before + 2n);
    expect(await settler.stats()).toMatchObject({ setAsideReceipts: 0, unsettledReceipts: 0 });
    await expectChainMatchesStore();
  });

  it("settles the receipts a short payer's balance covers, oldest first, and sets aside only the rest", async () => {
    // 5,000 of credits behind 3,000 + 3,000 + 1,000 of receipts: the first is covered; the second is not,
    // and nor is the third though it would fit what is left (oldest first, no reordering to fill gaps).
    const payer = await fundedPayer(5_000n);
    const [first, second, third] = [
      await storeUnpaidReceipt(payer, 3_000n),
      await storeUnpaidReceipt(payer, 3_000n),
      await storeUnpaidReceipt(payer, 1_000n),
    ];
    const before = await chain.nextSequence(router());
    const settler = batcher();
    const error = await settler.flush().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'chain_error', message: expect.stringMatching(/2 receipts wait/) });
    expect(await chain.nextSequence(router())).toBe(before + 1n);
    const settledAt = async (jobId: Hex) => (await ledger.receiptsFor({ jobId }))[0]?.settledAt;
    const creditsOf = (account: Address) =>
      chain.publicClient.readContract({
        address: chain.book.contracts.computeCredits,
        abi: computeCreditsAbi,
        functionName: 'balanceOf',
        args: [account],
      });
    expect(await settledAt(first.jobId)).toBeDefined();
    expect(await settledAt(second.jobId)).toBeUndefined();
    expect(await settledAt(third.jobId)).toBeUndefined();
    expect(await creditsOf(payer)).toBe(2_000n);

    await chain.fund(payer, 2_000n);
    funded.set(payer, 7_000n);
    await settler.flush();
    expect(await creditsOf(payer)).toBe(0n);
    expect(await settler.stats()).toMatchObject({ setAsideReceipts: 0, unsettledReceipts: 0 });
    await expectChainMatchesStore();
  });

  it('tries set-aside receipts again on schedule once their pause is over', async () => {
    const payer = newPayer();
    await storeUnpaidReceipt(payer, 3_000n);
    const settler = batcher({ maxDelayMs: 0, pollMs: 20, setAsideRetryMs: 200 });
    await settler.start();
    await vi.waitFor(async () => expect((await settler.stats()).setAsideReceipts).toBe(1), {
      timeout: 10_000,
      interval: 20,
    });
    await chain.fund(payer, 3_000n);
    funded.set(payer, 3_000n);
    await vi.waitFor(async () => expect((await settler.stats()).unsettledReceipts).toBe(0), {
      timeout: 10_000,
      interval: 50,
    });
    expect((await settler.stats()).setAsideReceipts).toBe(0);
    await expectChainMatchesStore();
  });

  it('returns receipts to the pool when the chain applied another batch under their sequence', async () => {
    const payer = await fundedPayer(1_000_000n);
    await chargeJobs(2, payer);
    const sequence = await chain.nextSequence(router());
    const cut = await cutBatch(store, { router: router(), sequence, maxReceipts: 1_000 });
    if (cut.kind !== 'batch') throw new Error('expected a batch');
    // Another process with the router's key settles a different batch at that sequence.
    const stranger = newPayer();
    const strangerNode = devAccount(14).address;
    const strangerPod = await chain.registerPod(devAccount(15), { deployerShareBps: 0 });
    await chain.fund(stranger, 1_000n);
    await chain.write(chain.routerWallet.account as never, {
      address: chain.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'settle',
      args: [
        {
          sequence,
          receiptsRoot: keccak256(toHex('not ours')),
          receiptCount: 1,
          debits: [{ payer: stranger, amount: 1_000n }],
          lines: [
            {
              podId: strangerPod,
              node: strangerNode,
              frontend: zeroAddress,
              amount: 1_000n,
              computeUnits: 1n,
            },
          ],
        },
      ],
    });

    await batcher().flush();
    expect((await batchRecord(store, router(), sequence))?.status).toBe('superseded');
    const settled = await ledger.receiptsFor({ payer });
    expect(settled.every((r) => r.settledAt !== undefined && r.batch?.sequence === sequence + 1n)).toBe(true);
    await expectChainMatchesStore({ foreignBatches: 1 });
    expect(await chain.earningsOf(getAddress(strangerNode))).toBe(1_000n - (1_000n * 500n) / 10_000n);
  });
});

describe('SettlementBatcher options', () => {
  it('refuses batch sizes and delays it cannot honour', () => {
    const base = {
      store: {} as Store,
      publicClient: {} as never,
      walletClient: { account: { address: zeroAddress } } as never,
      settlement: zeroAddress,
      maxDelayMs: 1_000,
    };
    for (const maxReceipts of [0, -1, 1.5, 10_001, Number.NaN]) {
      expect(() => new SettlementBatcher({ ...base, maxReceipts })).toThrow(FatalError);
    }
    expect(() => new SettlementBatcher({ ...base, maxReceipts: 10, maxDelayMs: -1 })).toThrow(/maxDelayMs/);
    expect(new SettlementBatcher({ ...base, maxReceipts: 10_000 }).router).toBe(zeroAddress);
  });
});
