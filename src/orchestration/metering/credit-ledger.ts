// The read side of pay-by-developer metering: what a payer has available and the stored receipts.
// Holding and charging credits is `Metering`'s (leases, journal); both count what is used the same way.
import { type Address, getAddress, type Hex } from 'viem';
import { type AttestedReceipt, attestedReceipt } from '../../protocol/receipt-attestation.ts';
import { bigintOf, numberOf } from '../store/sql-values.ts';
import type { SqlParam, Store } from '../store/store.ts';
import { checkedAddress, checkedJobId } from './checked-input.ts';
import type { CreditsSource } from './credits-source.ts';
import { settledSince, USED_SQL } from './credits-used.ts';
import { type ReceiptRow, type StoredReceipt, storedReceiptOfRow } from './receipt-rows.ts';

export interface CreditLedgerOptions {
  store: Store;
  credits: CreditsSource;
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

  /** On-chain credits − charges not yet settled on-chain − routers' live leases (may be negative). */
  async available(payer: Address): Promise<bigint> {
    const account = checkedAddress(payer, 'payer');
    const balance = await this.#credits.balanceOf(account);
    const now = Date.now();
    const [row] = await this.#store.query<{ used: unknown }>(USED_SQL, [
      account,
      settledSince(this.#credits, now),
      now,
    ]);
    return balance - bigintOf(row?.used ?? 0);
  }

  /** Wei held by routers' live leases of the payer's credits (running jobs and room for the next ones). */
  async leased(payer: Address): Promise<bigint> {
    const [row] = await this.#store.query<{ total: unknown }>(
      'select coalesce(sum(amount), 0) as total from credit_leases where payer = $1 and expires_at > $2',
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
   * The evidence that the router attested the job's receipt: its Merkle proof and the signed root.
   * Undefined when no receipt of the job is stored, or it was stored unattested (a router without a key,
   * a corrupt hash, or before attestations: then `routerSignature` is the receipt's own).
   */
  attestedReceipt(jobId: Hex): Promise<AttestedReceipt | undefined> {
    return readAttestedReceipt(this.#store, jobId);
  }
}

/** CreditLedger.attestedReceipt on any store. */
export async function readAttestedReceipt(store: Store, jobId: Hex): Promise<AttestedReceipt | undefined> {
  const [row] = await store.query<AttestationRow & { attestation_index: unknown }>(BY_JOB_SQL, [
    checkedJobId(jobId),
  ]);
  return row === undefined ? undefined : attestedOfRow(row, numberOf(row.attestation_index));
}

/** The evidence for the leaf at `index` of the attestation with root `receiptsRoot` (a stored receipt's own). */
export async function readAttestation(
  store: Store,
  receiptsRoot: Hex,
  index: number,
): Promise<AttestedReceipt | undefined> {
  const [row] = await store.query<AttestationRow>(BY_ROOT_SQL, [receiptsRoot.toLowerCase()]);
  return row === undefined ? undefined : attestedOfRow(row, index);
}

function attestedOfRow(row: AttestationRow, index: number): AttestedReceipt {
  const leaves = Array.from(
    { length: row.leaves.length / 64 },
    (_, i) => `0x${row.leaves.slice(i * 64, (i + 1) * 64)}` as Hex,
  );
  const attestation = {
    router: getAddress(row.router),
    receiptsRoot: row.receipts_root as Hex,
    receiptCount: numberOf(row.receipt_count),
    signature: row.signature as Hex,
  };
  return attestedReceipt(attestation, leaves, index);
}

interface AttestationRow {
  receipts_root: string;
  router: string;
  receipt_count: unknown;
  leaves: string;
  signature: string;
}

const ATTESTATION_COLUMNS =
  "a.receipts_root, a.router, a.receipt_count, encode(a.leaves, 'hex') as leaves, a.signature";

const BY_JOB_SQL = `select r.attestation_index, ${ATTESTATION_COLUMNS}
  from receipts r join receipt_attestations a on a.receipts_root = r.attestation_root
  where r.job_id = $1`;

const BY_ROOT_SQL = `select ${ATTESTATION_COLUMNS} from receipt_attestations a where a.receipts_root = $1`;
