// Pay-by-developer metering: credits are reserved before a job is dispatched and charged on its signed
// receipt afterwards. Guarantees: a payer's reservations never exceed what is available (reservations
// are serialised per payer); a job is charged at most once (receipts.job_id is unique and a repeated
// charge answers `duplicate`); a failed job is free (release stores nothing).
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { z } from 'zod';
import { FatalError } from '../../protocol/errors.ts';
import { hashReceipt, type Receipt, ReceiptSchema } from '../../protocol/receipt.ts';
import { bigintOf } from '../store/sql-values.ts';
import type { Queryable, SqlParam, Store } from '../store/store.ts';
import type { CreditsSource } from './credits-source.ts';
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
}

export interface ChargeInput {
  jobId: Hex;
  receipt: Receipt;
  nodeSignature: Hex;
  routerSignature?: Hex | undefined;
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
    await this.#store.transaction(async (tx) => {
      await lockPayer(tx, payer);
      const [taken] = await tx.query<{ reserved: boolean; charged: boolean }>(
        `select exists (select 1 from credit_reservations where job_id = $1) as reserved,
                exists (select 1 from receipts where job_id = $1) as charged`,
        [jobId],
      );
      if (taken?.reserved || taken?.charged) {
        throw new FatalError('invalid_request', {
          message: `job ${jobId} already has ${taken.charged ? 'a charge' : 'a reservation'}`,
          details: { jobId },
        });
      }
      const available = balance - (await this.#used(tx, payer));
      if (available < input.amount) {
        throw new FatalError('insufficient_credits', {
          message: `insufficient compute credits: ${available > 0n ? available : 0n} wei available, ${input.amount} wei required`,
          details: { payer, available: available.toString(), required: input.amount.toString() },
        });
      }
      await tx.query(
        'insert into credit_reservations (job_id, payer, amount, created_at, expires_at) values ($1, $2, $3, $4, $5)',
        [jobId, payer, input.amount, Date.now(), input.expiresAt ?? null],
      );
    });
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
      await lockPayer(tx, payer);
      const [existing] = await tx.query<{ charged: unknown }>(
        'select charged from receipts where job_id = $1',
        [jobId],
      );
      if (existing !== undefined) return { charged: bigintOf(existing.charged), duplicate: true };

      const [reservation] = await tx.query<{ payer: string; amount: unknown }>(
        'delete from credit_reservations where job_id = $1 returning payer, amount',
        [jobId],
      );
      if (reservation === undefined) {
        throw new FatalError('invalid_request', {
          message: `job ${jobId} has no open reservation`,
          details: { jobId },
        });
      }
      if (getAddress(reservation.payer) !== payer) {
        throw new FatalError('invalid_request', {
          message: 'the receipt names another payer than the reservation',
          details: { jobId, reserved: reservation.payer, receipt: payer },
        });
      }
      const reserved = bigintOf(reservation.amount);
      // biome-ignore lint/complexity/useMathMinMax: Math.min does not take bigint
      const charged = receipt.price < reserved ? receipt.price : reserved;
      await tx.query(
        INSERT_RECEIPT_SQL,
        receiptInsertParams({
          receipt,
          receiptHash,
          nodeSignature: input.nodeSignature,
          routerSignature: input.routerSignature,
          charged,
          createdAt: Date.now(),
        }),
      );
      return { charged, duplicate: false };
    });
  }

  /** A failed or cancelled job: frees its reservation, stores nothing. True when there was one. */
  async release(jobId: Hex): Promise<boolean> {
    const rows = await this.#store.query(
      'delete from credit_reservations where job_id = $1 returning job_id',
      [checkedJobId(jobId)],
    );
    return rows.length > 0;
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

/** Serialises every credit change of one payer (transaction-scoped: released at commit or rollback). */
function lockPayer(tx: Queryable, payer: Address): Promise<unknown> {
  return tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [
    `neurino.credits:${payer.toLowerCase()}`,
  ]);
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
