// Pay-by-developer metering: credits are reserved before a job is dispatched and charged on its signed
// receipt afterwards. Guarantees: a payer's reservations never exceed what is available (reservations
// are serialised per payer); a job is charged at most once (receipts.job_id is unique and a repeated
// charge answers `duplicate`); a failed job is free (release stores nothing).
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { z } from 'zod';
import { FatalError } from '../../protocol/errors.ts';
import { hashReceipt, type Receipt, ReceiptSchema } from '../../protocol/receipt.ts';
import { bigintOf, isUniqueViolation } from '../store/sql-values.ts';
import type { Queryable, SqlParam, Store } from '../store/store.ts';
import type { CreditsSource } from './credits-source.ts';
import {
  type CreateJobInput,
  endJob,
  insertJob,
  type JobEnding,
  jobEndCtes,
  jobEndParams,
  jobInsertParams,
  jobInsertSql,
} from './job-rows.ts';
import {
  INSERT_RECEIPT_SQL,
  type ReceiptRow,
  receiptInsertParams,
  type StoredReceipt,
  storedReceiptOfRow,
} from './receipt-rows.ts';

/** Margin for clocks of routers sharing one database when deciding what a balance already reflects. */
const CLOCK_MARGIN_MS = 2_000;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

export interface CreditLedgerOptions {
  store: Store;
  credits: CreditsSource;
}

export interface ReserveInput {
  jobId: Hex;
  payer: Address;
  /** Wei: the most the job may cost (see maxPriceFor). */
  amount: bigint;
  /** ms epoch after which an abandoned reservation stops holding credits (a router that died mid-job). */
  expiresAt?: number | undefined;
  /** Logs the job in the same transaction; refused for lack of credits, it is logged as failed. */
  job?: Omit<CreateJobInput, 'jobId' | 'payer'> | undefined;
}

export interface ChargeInput {
  jobId: Hex;
  receipt: Receipt;
  nodeSignature: Hex;
  routerSignature?: Hex | undefined;
  /** Ends the job in the jobs log in the same transaction as the charge, given what was charged. */
  ending?: ((charged: bigint) => JobEnding) | undefined;
}

export interface ReceiptFilter {
  jobId?: Hex;
  payer?: Address;
  node?: Address;
  podId?: Hex;
  /** true: in a batch the chain applied; false: not yet. */
  settled?: boolean;
  batch?: { router: Address; sequence: bigint };
  limit?: number;
}

export class CreditLedger {
  readonly #store: Store;
  readonly #credits: CreditsSource;

  constructor(options: CreditLedgerOptions) {
    this.#store = options.store;
    this.#credits = options.credits;
  }

  /** On-chain credits − charges not yet settled on-chain − open reservations (may be negative). */
  async available(payer: Address): Promise<bigint> {
    const account = checkedAddress(payer, 'payer');
    const balance = await this.#credits.balanceOf(account);
    return balance - (await this.#used(this.#store, account));
  }

  /** Holds `amount` of the payer's credits for the job; throws `insufficient_credits` (402) when short. */
  async reserve(input: ReserveInput): Promise<void> {
    const jobId = checkedJobId(input.jobId);
    const payer = checkedAddress(input.payer, 'payer');
    if (typeof input.amount !== 'bigint' || input.amount < 0n) {
      throw new FatalError('invalid_request', {
        message: 'amount must be a non-negative bigint',
        param: 'amount',
      });
    }
    // Read before the transaction: no lock is held across an RPC call.
    const balance = await this.#credits.balanceOf(payer);
    const refused = await this.#store
      .transaction(async (tx) => {
        await this.#lockPayer(tx, payer);
        const usage = await this.#usage(tx, payer, jobId);
        if (usage.reservedJob || usage.chargedJob) {
          throw new FatalError('invalid_request', {
            message: `job ${jobId} already has ${usage.chargedJob ? 'a charge' : 'a reservation'}`,
            details: { jobId },
          });
        }
        const job = input.job === undefined ? undefined : { ...input.job, jobId, payer };
        const available = balance - usage.used;
        if (available < input.amount) {
          const error = new FatalError('insufficient_credits', {
            message: `insufficient compute credits: ${available > 0n ? available : 0n} wei available, ${input.amount} wei required`,
            details: { payer, available: available.toString(), required: input.amount.toString() },
          });
          // The job is logged as refused, committed, so GET /v1/jobs/:id can tell why.
          if (job !== undefined) await insertJob(tx, job, { code: error.code, message: error.message });
          return error;
        }
        const reservation = [jobId, payer, input.amount, Date.now(), input.expiresAt ?? null];
        await tx.query(
          `${job === undefined ? '' : `with job as (${jobInsertSql(6)}) `}insert into credit_reservations
           (job_id, payer, amount, created_at, expires_at) values ($1, $2, $3, $4, $5)`,
          job === undefined ? reservation : [...reservation, ...jobInsertParams(job)],
        );
        return undefined;
      })
      .catch((error: unknown) => {
        if (!isUniqueViolation(error)) throw error;
        throw new FatalError('invalid_request', {
          message: 'a job with this id already exists',
          details: { jobId, ...(input.job === undefined ? {} : { publicId: input.job.publicId }) },
        });
      });
    if (refused !== undefined) throw refused;
  }

  /**
   * Stores the node-signed receipt and closes the job's reservation in one transaction. Charged is the
   * receipt's price capped at the reservation. Charging a job again answers the first charge, `duplicate`.
   */
  async charge(input: ChargeInput): Promise<{ charged: bigint; duplicate: boolean }> {
    const jobId = checkedJobId(input.jobId);
    const encoded = z.safeEncode(ReceiptSchema, input.receipt);
    if (!encoded.success) {
      throw new FatalError('invalid_request', {
        message: `malformed receipt: ${encoded.error.issues[0]?.message}`,
      });
    }
    const { receipt } = input;
    if (receipt.jobId.toLowerCase() !== jobId) {
      throw new FatalError('invalid_request', {
        message: 'the receipt is for another job',
        details: { jobId },
      });
    }
    const payer = getAddress(receipt.payer);
    const receiptHash = hashReceipt(receipt);
    return this.#store.transaction(async (tx) => {
      await this.#lockPayer(tx, payer);
      // No receipt yet: take the reservation. A charged job has none left (reserve refuses charged jobs).
      const [row] = await tx.query<{ existing: unknown; payer: string | null; amount: unknown }>(
        `with taken as (delete from credit_reservations where job_id = $1 returning payer, amount)
         select (select charged from receipts where job_id = $1) as existing, taken.payer, taken.amount
         from (values (1)) as one left join taken on true`,
        [jobId],
      );
      if (row?.existing !== null && row?.existing !== undefined) {
        return { charged: bigintOf(row.existing), duplicate: true };
      }
      const reservation = row?.payer === null || row?.payer === undefined ? undefined : row;
      if (reservation === undefined) {
        throw new FatalError('invalid_request', {
          message: `job ${jobId} has no open reservation`,
          details: { jobId },
        });
      }
      if (getAddress(reservation.payer as string) !== payer) {
        throw new FatalError('invalid_request', {
          message: 'the receipt names another payer than the reservation',
          details: { jobId, reserved: reservation.payer, receipt: payer },
        });
      }
      const reserved = bigintOf(reservation.amount);
      // biome-ignore lint/complexity/useMathMinMax: Math.min does not take bigint
      const charged = receipt.price < reserved ? receipt.price : reserved;
      const params = receiptInsertParams({
        receipt,
        receiptHash,
        nodeSignature: input.nodeSignature,
        routerSignature: input.routerSignature,
        charged,
        createdAt: Date.now(),
      });
      // The job's end rides in the same statement as its receipt.
      if (input.ending === undefined) await tx.query(INSERT_RECEIPT_SQL, params);
      else {
        const ending = jobEndParams(jobId, input.ending(charged));
        await tx.query(`with ${jobEndCtes(params.length + 1)} ${INSERT_RECEIPT_SQL}`, [...params, ...ending]);
      }
      return { charged, duplicate: false };
    });
  }

  /**
   * A failed or cancelled job: frees its reservation, stores no receipt. True when there was one. With
   * `ending`, ends the job in the jobs log in the same transaction.
   */
  async release(jobId: Hex, ending?: JobEnding): Promise<boolean> {
    const id = checkedJobId(jobId);
    const free = (db: Queryable) =>
      db.query('delete from credit_reservations where job_id = $1 returning job_id', [id]);
    if (ending === undefined) return (await free(this.#store)).length > 0;
    return this.#store.transaction(async (tx) => {
      const rows = await free(tx);
      await endJob(tx, id, ending);
      return rows.length > 0;
    });
  }

  /** Deletes reservations past their expiry (left by a router that stopped mid-job). Returns how many. */
  async releaseExpired(now: number = Date.now()): Promise<number> {
    const rows = await this.#store.query(
      'delete from credit_reservations where expires_at <= $1 returning job_id',
      [now],
    );
    return rows.length;
  }

  /** Wei held by the payer's open reservations. */
  async reserved(payer: Address): Promise<bigint> {
    const [row] = await this.#store.query<{ total: unknown }>(
      `select coalesce(sum(amount), 0) as total from credit_reservations
       where payer = $1 and (expires_at is null or expires_at > $2)`,
      [checkedAddress(payer, 'payer'), Date.now()],
    );
    return bigintOf(row?.total ?? 0);
  }

  /** Stored receipts matching every given field, oldest first. */
  async receiptsFor(filter: ReceiptFilter = {}): Promise<StoredReceipt[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const add = (clause: string, value: SqlParam) => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (filter.jobId !== undefined) add('job_id = ?', checkedJobId(filter.jobId));
    if (filter.payer !== undefined) add('payer = ?', checkedAddress(filter.payer, 'payer'));
    if (filter.node !== undefined) add('node = ?', checkedAddress(filter.node, 'node'));
    if (filter.podId !== undefined) add('pod_id = ?', filter.podId.toLowerCase());
    if (filter.settled !== undefined)
      where.push(filter.settled ? 'settled_at is not null' : 'settled_at is null');
    if (filter.batch !== undefined) {
      add('batch_router = ?', checkedAddress(filter.batch.router, 'router'));
      add('batch_sequence = ?', filter.batch.sequence);
    }
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 10_000), 1), 100_000);
    const rows = await this.#store.query<ReceiptRow>(
      `select * from receipts ${where.length > 0 ? `where ${where.join(' and ')}` : ''} order by id limit ${limit}`,
      params,
    );
    return rows.map(storedReceiptOfRow);
  }

  /**
   * Serialises every credit change of one payer (transaction-scoped: released at commit or rollback).
   * PGlite has one session whose transactions already run one at a time: the lock would add nothing.
   */
  async #lockPayer(tx: Queryable, payer: Address): Promise<void> {
    if (this.#store.kind === 'pglite') return;
    await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `neurino.credits:${payer.toLowerCase()}`,
    ]);
  }

  /** What `#used` counts, and whether `jobId` already holds a reservation or a charge: one statement. */
  async #usage(
    db: Queryable,
    payer: Address,
    jobId: Hex,
  ): Promise<{ used: bigint; reservedJob: boolean; chargedJob: boolean }> {
    const now = Date.now();
    const [row] = await db.query<{
      charged: unknown;
      reserved: unknown;
      reserved_job: boolean;
      charged_job: boolean;
    }>(
      `select
         (select coalesce(sum(charged), 0) from receipts
           where payer = $1 and (settled_at is null or settled_at > $2)) as charged,
         (select coalesce(sum(amount), 0) from credit_reservations
           where payer = $1 and (expires_at is null or expires_at > $3)) as reserved,
         exists (select 1 from credit_reservations where job_id = $4) as reserved_job,
         exists (select 1 from receipts where job_id = $4) as charged_job`,
      [payer, now - this.#credits.maxAgeMs - CLOCK_MARGIN_MS, now, jobId],
    );
    return {
      used: bigintOf(row?.charged ?? 0) + bigintOf(row?.reserved ?? 0),
      reservedJob: row?.reserved_job === true,
      chargedJob: row?.charged_job === true,
    };
  }

  /** Charges the chain has not debited yet (as far as a balance read now can tell) plus open reservations. */
  async #used(db: Queryable, payer: Address): Promise<bigint> {
    const now = Date.now();
    const [row] = await db.query<{ charged: unknown; reserved: unknown }>(
      `select
         (select coalesce(sum(charged), 0) from receipts
           where payer = $1 and (settled_at is null or settled_at > $2)) as charged,
         (select coalesce(sum(amount), 0) from credit_reservations
           where payer = $1 and (expires_at is null or expires_at > $3)) as reserved`,
      [payer, now - this.#credits.maxAgeMs - CLOCK_MARGIN_MS, now],
    );
    return bigintOf(row?.charged ?? 0) + bigintOf(row?.reserved ?? 0);
  }
}

function checkedJobId(jobId: Hex): Hex {
  if (typeof jobId !== 'string' || !BYTES32.test(jobId)) {
    throw new FatalError('invalid_request', { message: 'jobId must be 32 bytes of 0x-hex', param: 'jobId' });
  }
  return jobId.toLowerCase() as Hex;
}

function checkedAddress(value: Address, name: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new FatalError('invalid_request', { message: `${name} must be an address`, param: name });
  }
  return getAddress(value);
}
