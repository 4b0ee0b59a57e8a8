// Pay-by-developer metering on the per-job path: credits are held before dispatch (from a lease, in
// memory), a finished job's node-signed receipt is made durable before the caller is answered, and the
// store receives receipts and the jobs log in batches. Durable means: in the router's local journal when it
// has one (by default written to the file, so a crash of the router cannot lose it, and synced in the
// background; with journalSync 'disk', on disk: written O_DSYNC, group-committed), else committed in the
// store (group commit).
// Guarantees: holds never exceed what the payer has available; a job is charged at most once (one
// charge per reservation here, receipts.job_id unique in the store); a failed job is free; a journaled
// receipt reaches the store even across a crash of the router, across a power loss too with 'disk'
// (replayed at the next start, idempotently).
import type { Logger } from 'pino';
import { type Address, getAddress, type Hex } from 'viem';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import type { Receipt } from '../../protocol/receipt.ts';
import type { Store } from '../store/store.ts';
import { checkedAddress, checkedJobId, checkedReceiptHash } from './checked-input.ts';
import { CreditLeases } from './credit-leases.ts';
import type { CreditsSource } from './credits-source.ts';
import type { JobEnding } from './job-rows.ts';
import type { JournalFile } from './journal-file.ts';
import {
  type Charge,
  endedEntry,
  type MeteredJob,
  type MeteringEntry,
  openedEntry,
} from './metering-entries.ts';
import { type IngestOutcome, ingestBatch } from './metering-ingest.ts';
import type { ReceiptAttester } from './receipt-attester.ts';
import { SerialQueue } from './serial-queue.ts';

/** Entries written to the store in one transaction at most. */
export const MAX_BATCH = 512;
const RETRY_MS = 1_000;
/**
 * How long journaled entries gather before they go to the store together (or until a batch is full).
 * Long enough that a quiet router writes about once a second, so the store's work (on this thread with
 * PGlite) touches few requests; short enough that receipts settle and other routers see charges soon.
 */
const DEFAULT_GATHER_MS = 1_000;
/** A batch this large goes at once. */
const GATHER_ENTRIES = 256;

export interface MeteringOptions {
  store: Store;
  credits: CreditsSource;
  /** This router's lease holder id: stable across restarts when the router has a data directory. */
  holder: string;
  /** The local journal; without one, each step waits for its store commit. */
  journal?: JournalFile | undefined;
  logger: Logger;
  /** Default 2 min: how long a dead router's lease keeps holding credits. */
  leaseTtlMs?: number;
  /** Default 10 s: how old the lease's view of the payer's credits may get. */
  revalidateMs?: number;
  /** Default 32: a lease grows by this many reservations like the one that asked. */
  leaseJobs?: number;
  /**
   * The router's key: each batch of receipts going to the store is attested (one signature over their
   * Merkle root, off the jobs' path). Without it receipts are stored with the node's signature only.
   */
  attester?: ReceiptAttester | undefined;
  /** Default 1 s: how long journaled entries may wait to be written together, short of a full batch. */
  gatherMs?: number;
}

export interface MeterReserve {
  jobId: Hex;
  payer: Address;
  /** Wei: the most the job may cost (see maxPriceFor). */
  amount: bigint;
  job: Omit<MeteredJob, 'jobId' | 'payer' | 'createdAt'>;
  /** Log the job before answering (async jobs: GET must find it at once, on any router). */
  logNow?: boolean | undefined;
}

export interface MeterCharge {
  jobId: Hex;
  receipt: Receipt;
  /** The receipt's EIP-712 struct hash when the caller has it already. */
  receiptHash?: Hex | undefined;
  nodeSignature: Hex;
  ending: (charged: bigint) => JobEnding;
}

export interface MeteringStats {
  unstored: number;
  storeRetrying: boolean;
  rejected: number;
}

interface Running {
  job: MeteredJob;
  hold: bigint;
  state: 'held' | 'ending';
}

interface Queued {
  entry: MeteringEntry;
  segment?: number;
  hooks?: { stored?: () => void; refused?: () => void };
  settle?: { resolve: () => void; reject: (error: unknown) => void };
}

export class Metering {
  readonly #store: Store;
  readonly #journal: JournalFile | undefined;
  readonly #logger: Logger;
  readonly #leases: CreditLeases;
  readonly #attester: ReceiptAttester | undefined;
  readonly #serial = new SerialQueue();
  readonly #running = new Map<Hex, Running>();
  /** Entries durable but not yet in the store, by public job id (GET /v1/jobs/:id reads them). */
  readonly #unstored = new Map<string, MeteringEntry>();
  #queue: Queued[] = [];
  #ingesting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #flushing = false;
  /** Entries the store refused since this metering started (kept in rejected.jsonl). */
  #rejected = 0;
  #stopped = false;
  /** Ends the current gathering wait early (a full batch, or a flush). */
  #wake: (() => void) | undefined;
  readonly #gatherMs: number;

  constructor(options: MeteringOptions) {
    this.#store = options.store;
    this.#journal = options.journal;
    this.#logger = options.logger;
    this.#attester = options.attester;
    this.#gatherMs = options.gatherMs ?? DEFAULT_GATHER_MS;
    this.#leases = new CreditLeases({
      store: options.store,
      credits: options.credits,
      holder: options.holder,
      serial: (fn) => this.#serial.run(fn),
      ttlMs: options.leaseTtlMs ?? 120_000,
      revalidateMs: options.revalidateMs ?? 10_000,
      leaseJobs: options.leaseJobs ?? 32,
    });
  }

  /**
   * For operators: steps durable but not yet in the store (a backlog that grows while the store is slow
   * or down), whether ingestion is waiting to retry, and entries the store refused since the start.
   */
  stats(): MeteringStats {
    return {
      unstored: this.#queue.length,
      storeRetrying: this.#retry !== undefined,
      rejected: this.#rejected,
    };
  }

  /** Counts entries refused outside the running ingestion (an earlier run's journal, replayed at start). */
  countRejected(count: number): void {
    this.#rejected += count;
  }

  get leases(): CreditLeases {
    return this.#leases;
  }

  /** Holds `amount` for the job; throws `insufficient_credits` (402), the job logged as failed. */
  async reserve(input: MeterReserve): Promise<void> {
    const jobId = checkedJobId(input.jobId);
    const payer = checkedAddress(input.payer, 'payer');
    if (typeof input.amount !== 'bigint' || input.amount < 0n) {
      throw new FatalError('invalid_request', {
        message: 'amount must be a non-negative bigint',
        param: 'amount',
      });
    }
    if (this.#running.has(jobId)) throw alreadyReserved(jobId);
    const job: MeteredJob = { ...input.job, jobId, payer, createdAt: Date.now() };
    const grant = await this.#leases.hold(payer, input.amount);
    if (!grant.ok) {
      const available = grant.available > 0n ? grant.available : 0n;
      const error = new FatalError('insufficient_credits', {
        message: `insufficient compute credits: ${available} wei available, ${input.amount} wei required`,
        details: { payer, available: available.toString(), required: input.amount.toString() },
      });
      // Logged as refused, so GET /v1/jobs/:id can tell why.
      await this.#record(
        endedEntry(job, { status: 'failed', errorCode: error.code, errorMessage: error.message }),
      );
      throw error;
    }
    if (this.#running.has(jobId)) {
      // A reservation of the same job won while this one waited for its lease: give this hold back.
      const lease = this.#leases.lease(payer);
      if (lease !== undefined) lease.held -= input.amount;
      throw alreadyReserved(jobId);
    }
    this.#running.set(jobId, { job, hold: input.amount, state: 'held' });
    if (input.logNow === true) {
      try {
        await this.#record(openedEntry(job));
      } catch (error) {
        this.#free(jobId);
        throw error;
      }
    }
  }

  /**
   * Charges the receipt's price capped at the hold, durably, with the job's end. A job is charged once:
   * a second charge, or one for a job not held here, is refused (`invalid_request`).
   */
  async charge(input: MeterCharge): Promise<{ charged: bigint }> {
    const jobId = checkedJobId(input.jobId);
    const { receipt } = input;
    const receiptHash = checkedReceiptHash(receipt, input.receiptHash);
    const running = this.#running.get(jobId);
    if (running === undefined || running.state !== 'held') {
      throw new FatalError('invalid_request', {
        message: `job ${jobId} has no open reservation`,
        details: { jobId },
      });
    }
    if (receipt.jobId.toLowerCase() !== jobId) {
      throw new FatalError('invalid_request', {
        message: 'the receipt is for another job',
        details: { jobId },
      });
    }
    if (getAddress(receipt.payer) !== running.job.payer) {
      throw new FatalError('invalid_request', {
        message: 'the receipt names another payer than the reservation',
        details: { jobId, reserved: running.job.payer, receipt: receipt.payer },
      });
    }
    // biome-ignore lint/complexity/useMathMinMax: Math.min does not take bigint
    const charged = receipt.price < running.hold ? receipt.price : running.hold;
    const charge: Charge = { receipt, receiptHash, nodeSignature: input.nodeSignature, charged };
    running.state = 'ending';
    const lease = this.#leases.lease(running.job.payer);
    try {
      await this.#record(endedEntry(running.job, input.ending(charged), charge), {
        durable: () => {
          this.#running.delete(jobId);
          if (lease === undefined) return;
          lease.held -= running.hold;
          lease.pending += charged;
        },
        stored: () => {
          if (lease === undefined) return;
          lease.pending -= charged;
          lease.amount = lease.amount > charged ? lease.amount - charged : 0n;
        },
        // Kept aside, not a stored receipt: the lease row still covers it, as free room now.
        refused: () => {
          if (lease !== undefined) lease.pending -= charged;
        },
      });
    } catch (error) {
      // Not durable, so not charged: the job stays held for `release` to free.
      running.state = 'held';
      throw error;
    }
    return { charged };
  }

  /** A failed or cancelled job: frees its hold and logs its end, no receipt. False when nothing was held. */
  async release(jobId: Hex, ending: JobEnding): Promise<boolean> {
    const id = checkedJobId(jobId);
    const running = this.#running.get(id);
    if (running === undefined || running.state !== 'held') return false;
    // Built first: a malformed end is refused with the job still held.
    const entry = endedEntry(running.job, ending);
    this.#free(id);
    await this.#record(entry).catch((error: unknown) =>
      this.#logger.error({ err: error, jobId: id }, 'logging a failed job failed'),
    );
    return true;
  }

  /** A job durable but not yet in the store, as its row would read; undefined otherwise. */
  unstored(publicId: string): MeteringEntry | undefined {
    return this.#unstored.get(publicId);
  }

  /** Resolves once everything recorded so far is in the store. */
  async flush(): Promise<void> {
    this.#flushing = true;
    this.#wake?.();
    try {
      while (this.#queue.length > 0 || this.#ingesting !== undefined) {
        if (this.#stopped) throw stoppedError();
        if (this.#ingesting === undefined) this.#startIngest();
        await this.#ingesting;
        if (this.#retry !== undefined && this.#queue.length > 0) {
          throw new RetryableError('service_unavailable', {
            message:
              'metering writes fail (store, or the router key attesting receipts); they stay journaled',
          });
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Runs `fn` in this router's one queue of metering writes. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.#serial.run(fn);
  }

  async #record(
    entry: MeteringEntry,
    hooks: { durable?: () => void; stored?: () => void; refused?: () => void } = {},
  ): Promise<void> {
    if (this.#stopped) throw stoppedError();
    if (this.#journal !== undefined) {
      const segment = await this.#journal.append(entry);
      hooks.durable?.();
      this.#unstored.set(entry.job.public_id, entry);
      this.#queue.push({ entry, segment, hooks });
      if (this.#queue.length >= GATHER_ENTRIES) this.#wake?.();
      this.#startIngest();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.#queue.push({ entry, settle: { resolve, reject } });
      this.#startIngest();
    });
    hooks.durable?.();
    hooks.stored?.();
  }

  #free(jobId: Hex): void {
    const running = this.#running.get(jobId);
    if (running === undefined) return;
    this.#running.delete(jobId);
    const lease = this.#leases.lease(running.job.payer);
    if (lease !== undefined) lease.held -= running.hold;
  }

  /** Stops writing to the store (what is journaled stays for the next start); for shutdown. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #startIngest(): void {
    if (this.#stopped || this.#ingesting !== undefined || this.#retry !== undefined) return;
    if (this.#queue.length === 0) return;
    // Journaled entries are durable already: gather them a moment, so the store takes few large
    // batches rather than one transaction per job. Without a journal the caller waits: go at once.
    const gather = this.#gathers() && this.#queue.length < GATHER_ENTRIES;
    const wait = gather
      ? new Promise<void>((resolve) => {
          const timer = setTimeout(wake, this.#gatherMs).unref();
          function wake() {
            clearTimeout(timer);
            resolve();
          }
          this.#wake = wake;
        })
      : undefined;
    this.#ingesting = (wait ?? Promise.resolve())
      .then(() => {
        this.#wake = undefined;
      })
      .then(() => this.#serial.run(() => this.#ingestAll()))
      .finally(() => {
        this.#ingesting = undefined;
        if (this.#retry === undefined) this.#startIngest();
      });
  }

  async #ingestAll(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, MAX_BATCH);
      let refused: IngestOutcome['refused'];
      try {
        ({ refused } = await ingestBatch(
          this.#store,
          this.#leases.holder,
          batch.map((q) => q.entry),
          this.#attester,
        ));
      } catch (error) {
        if (this.#journal === undefined) {
          // Nothing durable yet: these steps fail, their jobs stay free.
          this.#queue.splice(0, batch.length);
          for (const q of batch) q.settle?.reject(error);
          continue;
        }
        this.#logger.error(
          { err: error, entries: this.#queue.length },
          'metering writes failed (store, or the router key attesting receipts); retrying',
        );
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          this.#startIngest();
        }, RETRY_MS);
        this.#retry.unref();
        return;
      }
      this.#queue.splice(0, batch.length);
      const failed = new Map(refused.map((r) => [r.entry, r.error]));
      if (failed.size > 0) {
        this.#rejected += failed.size;
        this.#logger.error(
          { jobs: refused.map((r) => r.entry.job.public_id), err: refused[0]?.error },
          'the store refused metering entries; kept in rejected.jsonl',
        );
        await this.#journal?.reject(refused.map((r) => ({ record: r.entry, reason: String(r.error) })));
      }
      const released = new Map<number, number>();
      for (const q of batch) {
        const error = failed.get(q.entry);
        if (error === undefined) {
          q.hooks?.stored?.();
          q.settle?.resolve();
        } else {
          q.hooks?.refused?.();
          q.settle?.reject(error);
        }
        if (this.#unstored.get(q.entry.job.public_id) === q.entry)
          this.#unstored.delete(q.entry.job.public_id);
        if (q.segment !== undefined) released.set(q.segment, (released.get(q.segment) ?? 0) + 1);
      }
      for (const [segment, count] of released) await this.#journal?.release(segment, count);
      // What arrived while this batch was written gathers again (#startIngest) unless it fills a batch:
      // going on with it at once would, under steady load, write one small batch after another, and a
      // PGlite statement costs about as much again fixed as for 256 rows (48-row batches: twice the CPU).
      if (this.#gathers() && this.#queue.length < GATHER_ENTRIES) return;
    }
  }

  /** Journaled entries may wait to be written together (durable already); on a flush they may not. */
  #gathers(): boolean {
    return this.#journal !== undefined && !this.#flushing;
  }
}

function alreadyReserved(jobId: Hex): FatalError {
  return new FatalError('invalid_request', {
    message: `job ${jobId} already has a reservation`,
    details: { jobId },
  });
}

function stoppedError(): RetryableError {
  return new RetryableError('service_unavailable', {
    message: 'metering has stopped: the router is shutting down',
  });
}
