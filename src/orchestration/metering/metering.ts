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
import { FatalError } from '../../protocol/errors.ts';
import type { Receipt } from '../../protocol/receipt.ts';
import type { Store } from '../store/store.ts';
import { checkedAddress, checkedJobId, checkedReceiptHash } from './checked-input.ts';
import { CreditLeases } from './credit-leases.ts';
import { type CreditStanding, readCreditStanding } from './credit-standing.ts';
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
import {
  DEFAULT_GATHER_MS,
  MeteringStoreFeed,
  type StepHooks,
  type StoreFeedStats,
} from './metering-store-feed.ts';
import type { ReceiptAttester } from './receipt-attester.ts';
import { SerialQueue } from './serial-queue.ts';

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
  /** `createdAt` defaults to now; the gateway passes the time it told the caller. */
  job: Omit<MeteredJob, 'jobId' | 'payer' | 'createdAt'> & { createdAt?: number | undefined };
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

export type MeteringStats = StoreFeedStats;

interface Running {
  job: MeteredJob;
  hold: bigint;
  state: 'held' | 'ending';
  /** Logged when accepted (`logNow`), so its start is logged too: `queued`, then `running`. */
  logged: 'queued' | 'running' | false;
}

export class Metering {
  readonly #logger: Logger;
  readonly #leases: CreditLeases;
  readonly #serial = new SerialQueue();
  readonly #running = new Map<Hex, Running>();
  readonly #feed: MeteringStoreFeed;
  readonly #options: MeteringOptions;

  constructor(options: MeteringOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#feed = new MeteringStoreFeed({
      store: options.store,
      holder: options.holder,
      journal: options.journal,
      logger: options.logger,
      attester: options.attester,
      serial: this.#serial,
      gatherMs: options.gatherMs ?? DEFAULT_GATHER_MS,
    });
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
    return this.#feed.stats();
  }

  /** Where the payer's credits stand as this router sees them (GET /v1/credits). */
  async standing(payer: Address): Promise<CreditStanding> {
    const { store, credits, holder } = this.#options;
    return readCreditStanding(
      {
        store,
        credits,
        holder,
        lease: (p) => this.#leases.lease(p),
        serial: (fn) => this.#serial.run(fn),
      },
      checkedAddress(payer, 'payer'),
    );
  }

  /** Counts entries refused outside the running ingestion (an earlier run's journal, replayed at start). */
  countRejected(count: number): void {
    this.#feed.countRejected(count);
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
    const job: MeteredJob = { ...input.job, jobId, payer, createdAt: input.job.createdAt ?? Date.now() };
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
    this.#running.set(jobId, {
      job,
      hold: input.amount,
      state: 'held',
      logged: input.logNow === true ? 'queued' : false,
    });
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
   * A job logged when accepted began its first attempt: logged as `running`, so any router sharing the
   * store tells it so. Best effort and once: the job's end is what counts, and it follows in the journal.
   */
  started(jobId: Hex): Promise<void> {
    const running = this.#running.get(checkedJobId(jobId));
    if (running === undefined || running.state !== 'held' || running.logged !== 'queued') {
      return Promise.resolve();
    }
    running.logged = 'running';
    // Resolves once journaled; never rejects (the caller does not wait for it).
    return this.#record(openedEntry(running.job, 'running')).catch((error: unknown) =>
      this.#logger.warn({ err: error, jobId }, 'logging a job as running failed'),
    );
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
    return this.#feed.unstored(publicId);
  }

  /** The payer's jobs durable but not yet in the store, as their rows would read (see `stats().unstored`). */
  unstoredOf(payer: Address): MeteringEntry[] {
    return this.#feed.unstoredOf(getAddress(payer));
  }

  /** Resolves once everything recorded so far is in the store. */
  flush(): Promise<void> {
    return this.#feed.flush();
  }

  /** Runs `fn` in this router's one queue of metering writes. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.#serial.run(fn);
  }

  #record(entry: MeteringEntry, hooks?: StepHooks): Promise<void> {
    return this.#feed.record(entry, hooks);
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
    this.#feed.stop();
  }
}

function alreadyReserved(jobId: Hex): FatalError {
  return new FatalError('invalid_request', {
    message: `job ${jobId} already has a reservation`,
    details: { jobId },
  });
}
