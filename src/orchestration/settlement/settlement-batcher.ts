// Settles charged receipts on-chain in batches: every `maxReceipts` receipts or `maxDelayMs`, whichever
// comes first. Never loses a receipt across a restart and never settles one twice:
//  1. a batch (sequence, receipts, Merkle root) is recorded in the store before its transaction is sent;
//  2. on every cycle the store's pending batches are compared with the chain: a sequence below
//     `nextSequence(router)` whose on-chain root is ours was applied (mark settled); one whose root is not
//     ours, or above the chain's next, will never apply (its receipts return to the pool);
//  3. the contract ignores a sequence it already applied, so resending after a crash is harmless.

import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import type { NeurinoPublicClient, NeurinoWalletClient } from '../../chain/clients.ts';
import { computeCreditsAbi, podRegistryAbi, settlementAbi } from '../../chain/generated/index.ts';
import { asNeurinoError, FatalError, RetryableError } from '../../protocol/errors.ts';
import { numberOf } from '../store/sql-values.ts';
import type { Store } from '../store/store.ts';
import { settleBatchArgs } from './batch-call.ts';
import { batchContents } from './batch-contents.ts';
import {
  type BatchRecord,
  cutBatch,
  markSettled,
  markSuperseded,
  pendingBatches,
  recordBatchError,
  recordBatchTx,
  setAsidePayer,
  settledTotals,
  unsettledSummary,
} from './batch-records.ts';
import { chainError, payerShortOfCredits, revertReason } from './chain-revert.ts';

export interface SettlementBatcherOptions {
  store: Store;
  publicClient: NeurinoPublicClient;
  /** Its account is the router: it must hold ROUTER_ROLE on Settlement. */
  walletClient: NeurinoWalletClient;
  settlement: Address;
  /** Cut a batch once this many receipts wait (1 … 10,000). */
  maxReceipts: number;
  /** …or once the oldest waiting receipt is this old. */
  maxDelayMs: number;
  /** How often to look (default a quarter of maxDelayMs, between 50 ms and 1 s). */
  pollMs?: number | undefined;
  /**
   * Receipts of a payer the chain found short of credits wait this long before they are tried again
   * (default 60 s); the other receipts settle meanwhile.
   */
  setAsideRetryMs?: number | undefined;
  logger?: Logger | undefined;
}

export interface SettlementStats {
  /** Age of the oldest receipt not yet settled on-chain, ms (0 when none): the settlement lag. */
  settlementLagMs: number;
  /** Receipts charged but not yet settled on-chain. */
  unsettledReceipts: number;
  /** Batches and receipts this router has settled, over the store's whole history. */
  batchesSettled: number;
  receiptsSettled: number;
  /** Unsettled receipts set aside: their payers' credits were short when their batch was settled. */
  setAsideReceipts: number;
  lastError: string | undefined;
}

const MAX_BATCH_RECEIPTS = 10_000;

/** settle() plus the errors of the contracts it calls, so their reverts are decoded by name. */
const SETTLE_ABI = [...settlementAbi, ...errorsOf(computeCreditsAbi), ...errorsOf(podRegistryAbi)];

function errorsOf<const A extends readonly { type: string }[]>(
  abi: A,
): Extract<A[number], { type: 'error' }>[] {
  return abi.filter((item): item is Extract<A[number], { type: 'error' }> => item.type === 'error');
}
const MAX_BACKOFF_MS = 30_000;

export class SettlementBatcher {
  readonly #options: SettlementBatcherOptions;
  readonly #router: Address;
  readonly #pollMs: number;
  readonly #setAsideRetryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopping = false;
  /** Cycles run one at a time: the timer's and flush()'s. */
  #queue: Promise<void> = Promise.resolve();
  #failures = 0;
  #lastError: string | undefined;

  constructor(options: SettlementBatcherOptions) {
    if (
      !Number.isInteger(options.maxReceipts) ||
      options.maxReceipts < 1 ||
      options.maxReceipts > MAX_BATCH_RECEIPTS
    ) {
      throw new FatalError('invalid_request', {
        message: `maxReceipts must be an integer in 1…${MAX_BATCH_RECEIPTS}`,
      });
    }
    if (!Number.isFinite(options.maxDelayMs) || options.maxDelayMs < 0) {
      throw new FatalError('invalid_request', { message: 'maxDelayMs must be a non-negative number' });
    }
    this.#options = options;
    this.#router = options.walletClient.account.address;
    this.#pollMs = options.pollMs ?? Math.min(1_000, Math.max(50, Math.floor(options.maxDelayMs / 4)));
    this.#setAsideRetryMs = options.setAsideRetryMs ?? 60_000;
  }

  get router(): Address {
    return this.#router;
  }

  /** Finishes what a previous run left (pending batches), then settles on schedule. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    try {
      await this.#enqueue(() => this.#cycle(false));
    } catch (error) {
      this.#options.logger?.error(
        { err: asNeurinoError(error) },
        'settlement: first cycle failed; will retry',
      );
    }
    this.#schedule();
  }

  /** Stops the schedule and waits for the batch in flight (receipts left wait for the next start). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#queue.catch(() => {});
  }

  /**
   * Settles every receipt charged so far, now (set-aside receipts are tried once more). Throws when a
   * batch cannot be settled, or when receipts stay set aside (their payers' credits are short).
   */
  async flush(): Promise<void> {
    await this.#enqueue(() => this.#cycle(true));
  }

  async stats(): Promise<SettlementStats> {
    const { store } = this.#options;
    const unsettled = await unsettledSummary(store);
    const settled = await settledTotals(store, this.#router);
    return {
      settlementLagMs: unsettled.oldestAt === undefined ? 0 : Math.max(0, Date.now() - unsettled.oldestAt),
      unsettledReceipts: unsettled.count,
      batchesSettled: settled.batches,
      receiptsSettled: settled.receipts,
      setAsideReceipts: unsettled.setAside,
      lastError: this.#lastError,
    };
  }

  #enqueue(cycle: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(cycle);
    this.#queue = run.catch(() => {});
    return run;
  }

  #schedule(): void {
    if (!this.#running) return;
    const delay =
      this.#failures === 0 ? this.#pollMs : Math.min(MAX_BACKOFF_MS, this.#pollMs * 2 ** this.#failures);
    this.#timer = setTimeout(() => {
      this.#enqueue(() => this.#cycle(false))
        .catch((error) =>
          this.#options.logger?.warn({ err: asNeurinoError(error) }, 'settlement cycle failed'),
        )
        .finally(() => this.#schedule());
    }, delay);
    this.#timer.unref();
  }

  async #cycle(force: boolean): Promise<void> {
    const started = Date.now();
    try {
      let next = await this.#nextSequence();
      for (const batch of await pendingBatches(this.#options.store, this.#router)) {
        if (batch.sequence < next) await this.#reconcile(batch);
        else if (batch.sequence === next) {
          if (await this.#submit(batch)) next += 1n;
        } else {
          this.#options.logger?.warn(
            { sequence: batch.sequence.toString() },
            'settlement: batch beyond the chain sequence',
          );
          await markSuperseded(
            this.#options.store,
            this.#router,
            batch.sequence,
            `chain expects sequence ${next}`,
          );
        }
      }
      while ((force || !this.#stopping) && (force || (await this.#due()))) {
        const cut = await cutBatch(this.#options.store, {
          router: this.#router,
          sequence: next,
          maxReceipts: this.#options.maxReceipts,
          // A flush tries set-aside receipts once more (not those set aside during this very cycle).
          setAsideBefore: force ? started : Date.now() - this.#setAsideRetryMs,
        });
        if (cut.kind === 'empty') break;
        if (cut.kind === 'free') continue;
        if (await this.#submit(cut.batch)) next += 1n;
        if (this.#stopping && !force) break;
      }
      if (force) await this.#throwIfSetAside();
      this.#failures = 0;
      this.#lastError = undefined;
    } catch (error) {
      this.#failures += 1;
      this.#lastError = asNeurinoError(error).message;
      throw error;
    }
  }

  /**
   * True when enough receipts wait, or the oldest has waited long enough; set-aside receipts count only
   * once their pause is over.
   */
  async #due(): Promise<boolean> {
    const { store, maxReceipts, maxDelayMs } = this.#options;
    const [row] = await store.query<{ n: unknown; oldest: unknown }>(
      `select count(*) as n, min(created_at) as oldest from (
         select created_at from receipts where batch_sequence is null and settled_at is null
           and (set_aside_at is null or set_aside_at < $2)
         order by id limit $1) w`,
      [maxReceipts, Date.now() - this.#setAsideRetryMs],
    );
    if (row === undefined || numberOf(row.n) === 0) return false;
    return numberOf(row.n) >= maxReceipts || Date.now() - numberOf(row.oldest) >= maxDelayMs;
  }

  async #throwIfSetAside(): Promise<void> {
    const { setAside, setAsideReason } = await unsettledSummary(this.#options.store);
    if (setAside === 0) return;
    throw new RetryableError('chain_error', {
      message: `${setAside} receipts wait: their payers' credits are short (${setAsideReason ?? 'refused'})`,
    });
  }

  /**
   * Sends the batch (unless the chain already has it) and waits until it is mined and reconciled: true
   * once the chain holds its sequence. False when the chain refused it for a payer short of credits: that
   * payer's receipts are set aside, the batch superseded, and its sequence free for the next cut.
   */
  async #submit(batch: BatchRecord): Promise<boolean> {
    const { store, publicClient, walletClient, settlement, logger } = this.#options;
    const args = settleBatchArgs(batch, await batchContents(store, this.#router, batch.sequence));
    let hash: Hex;
    try {
      const { result } = await publicClient.simulateContract({
        account: walletClient.account,
        address: settlement,
        abi: SETTLE_ABI,
        functionName: 'settle',
        args: [args],
      });
      // false: the chain already has this sequence (our earlier transaction, or another batch).
      if (!result) {
        await this.#reconcile(batch);
        return true;
      }
      hash = await walletClient.writeContract({
        address: settlement,
        abi: SETTLE_ABI,
        functionName: 'settle',
        args: [args],
        chain: walletClient.chain,
        account: walletClient.account,
      });
    } catch (cause) {
      const short = payerShortOfCredits(cause);
      if (short !== undefined) {
        const reason = revertReason(cause) ?? 'InsufficientCredits';
        const { setAside, covered } = await setAsidePayer(store, {
          router: this.#router,
          sequence: batch.sequence,
          ...short,
          reason,
        });
        logger?.warn(
          {
            payer: short.payer,
            balance: short.balance.toString(),
            setAside,
            covered,
            sequence: batch.sequence.toString(),
            reason,
          },
          "settlement: a payer's credits are short; the receipts its balance covers settle with the others, the rest wait",
        );
        return false;
      }
      const error = chainError(cause, batch.sequence, 'settling the batch failed');
      await recordBatchError(store, this.#router, batch.sequence, error.message);
      throw error;
    }
    await recordBatchTx(store, this.#router, batch.sequence, hash);
    const mined = await publicClient.waitForTransactionReceipt({ hash }).catch((cause) => {
      throw chainError(cause, batch.sequence, 'waiting for the settlement transaction failed');
    });
    if (mined.status !== 'success') {
      await recordBatchError(store, this.#router, batch.sequence, `transaction ${hash} reverted`);
      throw new RetryableError('chain_error', {
        message: `settlement transaction ${hash} reverted`,
        details: { sequence: batch.sequence.toString(), hash },
      });
    }
    await this.#reconcile(batch);
    logger?.info(
      {
        sequence: batch.sequence.toString(),
        receipts: batch.receiptCount,
        total: batch.total.toString(),
        hash,
      },
      'settlement batch settled',
    );
    return true;
  }

  /** For a sequence the chain has passed: settled when the chain holds our root, else superseded. */
  async #reconcile(batch: BatchRecord): Promise<void> {
    const { store, publicClient, settlement, logger } = this.#options;
    const onChainRoot = await publicClient
      .readContract({
        address: settlement,
        abi: settlementAbi,
        functionName: 'batchRoot',
        args: [this.#router, batch.sequence],
      })
      .catch((cause) => {
        throw chainError(cause, batch.sequence, 'reading the settled batch root failed');
      });
    if (onChainRoot.toLowerCase() === batch.receiptsRoot.toLowerCase()) {
      await markSettled(store, this.#router, batch.sequence);
      return;
    }
    logger?.warn(
      { sequence: batch.sequence.toString(), ours: batch.receiptsRoot, onChain: onChainRoot },
      'settlement: the chain applied another batch under this sequence; its receipts go back to the pool',
    );
    await markSuperseded(store, this.#router, batch.sequence, `chain root ${onChainRoot} is not ours`);
  }

  async #nextSequence(): Promise<bigint> {
    try {
      const next = await this.#options.publicClient.readContract({
        address: this.#options.settlement,
        abi: settlementAbi,
        functionName: 'nextSequence',
        args: [this.#router],
      });
      return BigInt(next);
    } catch (cause) {
      throw new RetryableError('chain_error', { message: 'cannot read the settlement sequence', cause });
    }
  }
}
