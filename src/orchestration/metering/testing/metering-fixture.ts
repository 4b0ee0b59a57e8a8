// Tests only: what the metering tests share: credits a test sets, a silent logger, the steps of a job as
// the gateway takes them (reserve, charge with a node-signed receipt, release) and a few store reads.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { type Address, getAddress, type Hex, type LocalAccount } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../../../test/support/free-port.ts';
import { devAccount, devRoleAccount } from '../../../chain/dev-accounts.ts';
import type { ProtocolDomain } from '../../../protocol/eip712-domain.ts';
import { RetryableError } from '../../../protocol/errors.ts';
import { newApiId, randomBytes32 } from '../../../protocol/ids.ts';
import type { Receipt } from '../../../protocol/receipt.ts';
import { receiptAttestationDigest } from '../../../protocol/receipt-attestation.ts';
import {
  type ProtocolFixture,
  signedReceipt,
  startProtocolFixture,
} from '../../settlement/testing/protocol-fixture.ts';
import { bigintOf } from '../../store/sql-values.ts';
import type { Queryable } from '../../store/store.ts';
import type { CreditLedger } from '../credit-ledger.ts';
import { type CreditsSource, chainCreditsSource } from '../credits-source.ts';
import type { EndedAttempt, JobEnding } from '../job-rows.ts';
import type { Metering } from '../metering.ts';
import type { ReceiptAttester } from '../receipt-attester.ts';

export const silentLogger = pino({ level: process.env.NEURINO_TEST_LOG ?? 'silent' });

/** A CreditsSource whose balances the test sets (unknown payers have nothing). */
export function settableCredits(): CreditsSource & { set(payer: Address, wei: bigint): void } {
  const balances = new Map<Address, bigint>();
  return {
    maxAgeMs: 0,
    balanceOf: async (payer) => balances.get(getAddress(payer)) ?? 0n,
    set: (payer, wei) => balances.set(getAddress(payer), wei),
  };
}

/** What a job's steps need to know besides the metering that runs them. */
export interface JobContext {
  domain: ProtocolDomain;
  node: LocalAccount;
  podId: Hex;
}

export interface ReservedJob {
  jobId: Hex;
  publicId: string;
  payer: Address;
}

/** Reserves `amount` for a new job of `payer` (a chat job of key `key_1`). */
export async function reserveJob(
  metering: Metering,
  ctx: JobContext,
  payer: Address,
  amount: bigint,
  logNow = false,
): Promise<ReservedJob> {
  const jobId = randomBytes32();
  const publicId = newApiId('job');
  await metering.reserve({
    jobId,
    payer,
    amount,
    job: { publicId, apiKeyId: 'key_1', podId: ctx.podId, kind: 'chat' },
    logNow,
  });
  return { jobId, publicId, payer };
}

/** The attempt that produced `receipt`, as the gateway keeps it in memory. */
export function attemptOf(receipt: Receipt): EndedAttempt {
  return {
    attemptId: receipt.attemptId,
    node: receipt.node,
    status: 'succeeded',
    startedAt: receipt.startedAt,
    finishedAt: receipt.finishedAt,
  };
}

/** Charges the job with a receipt the node signed for `price`; the job ends succeeded with one attempt. */
export async function chargeJob(
  metering: Metering,
  ctx: JobContext,
  job: ReservedJob,
  price: bigint,
): Promise<{ charged: bigint; receipt: Receipt; nodeSignature: Hex }> {
  const signed = await signedReceipt(ctx.domain, ctx.node, {
    jobId: job.jobId,
    podId: ctx.podId,
    payer: job.payer,
    price,
  });
  const { charged } = await metering.charge({
    jobId: job.jobId,
    ...signed,
    ending: (amount): JobEnding => ({
      status: 'succeeded',
      result: { charged: amount.toString() },
      attempts: [attemptOf(signed.receipt)],
    }),
  });
  return { charged, ...signed };
}

/** Waits until everything recorded so far is in the store (the store may refuse for a while). */
export async function flushed(metering: Metering): Promise<void> {
  for (;;) {
    try {
      await metering.flush();
      return;
    } catch (error) {
      if (!(error instanceof RetryableError)) throw error;
      await sleep(50);
    }
  }
}

/** Lease rows as the store has them, by holder (expired ones too). */
export async function leaseRows(db: Queryable, payer: Address): Promise<Map<string, bigint>> {
  const rows = await db.query<{ holder: string; amount: unknown }>(
    'select holder, amount from credit_leases where payer = $1',
    [getAddress(payer)],
  );
  return new Map(rows.map((row) => [row.holder, bigintOf(row.amount)]));
}

/** Anvil with the protocol deployed and a registered pod, for metering suites (stop it in afterAll). */
async function startMeteringChain(): Promise<{ chain: ProtocolFixture; ctx: JobContext }> {
  const chain = await startProtocolFixture(await freePort());
  const podId = await chain.registerPod(devRoleAccount('podDeployer'), { deployerShareBps: 2_000 });
  return { chain, ctx: { domain: chain.domain, node: devAccount(10), podId } };
}

/** A test file's metering chain: `chain` and `ctx` may be read once its tests run. */
export interface MeteringChain {
  readonly chain: ProtocolFixture;
  readonly ctx: JobContext;
  /** The chain's credits, never cached (for meteringSuite). */
  credits(): CreditsSource;
  /** A new payer with `amount` wei of credits. */
  fundedPayer(amount: bigint): Promise<Address>;
}

/** Starts the metering chain before the calling file's tests and stops it after them. */
export function useMeteringChain(): MeteringChain {
  let started: { chain: ProtocolFixture; ctx: JobContext } | undefined;
  beforeAll(async () => {
    started = await startMeteringChain();
  });
  afterAll(() => started?.chain.stop());
  const get = () => {
    if (started === undefined) throw new Error('the metering chain is read before its tests run');
    return started;
  };
  return {
    get chain() {
      return get().chain;
    },
    get ctx() {
      return get().ctx;
    },
    credits: () => chainCredits(get().chain),
    fundedPayer: (amount) => fundedPayer(get().chain, amount),
  };
}

/** A fresh address, for payers the test funds (or leaves unfunded) itself. */
export function newPayer(): Address {
  return privateKeyToAccount(generatePrivateKey()).address;
}

/** The chain's ComputeCredits as a credits source that never caches. */
export function chainCredits(chain: ProtocolFixture): CreditsSource {
  return chainCreditsSource({
    publicClient: chain.publicClient,
    computeCredits: chain.book.contracts.computeCredits,
    maxAgeMs: 0,
  });
}

/** A new payer with `amount` wei of credits on the chain. */
export async function fundedPayer(chain: ProtocolFixture, amount: bigint): Promise<Address> {
  const payer = newPayer();
  await chain.fund(payer, amount);
  return payer;
}

/** What the payer has not spent: available plus what leases hold (they count as used). */
export async function unspentOf(ledger: CreditLedger, payer: Address): Promise<bigint> {
  return (await ledger.available(payer)) + (await ledger.leased(payer));
}

/** Wei the router holds for the payer's running jobs. */
export function heldBy(metering: Metering, payer: Address): bigint {
  return metering.leases.lease(payer)?.held ?? 0n;
}

/** A fresh router key and the attester a router's metering signs stored receipts with. */
export function routerAttester(domain: ProtocolDomain): {
  key: PrivateKeyAccount;
  attester: ReceiptAttester;
} {
  const key = privateKeyToAccount(generatePrivateKey());
  return {
    key,
    attester: {
      router: key.address,
      sign: (message) => key.sign({ hash: receiptAttestationDigest(domain, message) }),
    },
  };
}
