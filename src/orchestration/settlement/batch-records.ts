// Settlement batches in the store. A batch row and its receipts' assignment are written in one
// transaction BEFORE the batch's transaction is sent, so a crash at any point leaves either no batch
// (receipts still pending) or a batch the next start can find, compare with the chain, and finish.
import { type Address, getAddress, type Hex } from 'viem';
import { FatalError } from '../../protocol/errors.ts';
import { merkleRoot } from '../../protocol/merkle.ts';
import { bigintOf, numberOf, optionalNumberOf, optionalStringOf } from '../store/sql-values.ts';
import type { Queryable, Store } from '../store/store.ts';

export type BatchStatus = 'pending' | 'settled' | 'superseded';

export interface BatchRecord {
  router: Address;
  sequence: bigint;
  receiptsRoot: Hex;
  receiptCount: number;
  /** Wei debited from payers in total. */
  total: bigint;
  status: BatchStatus;
  txHash: Hex | undefined;
  lastError: string | undefined;
  createdAt: number;
  settledAt: number | undefined;
}

interface BatchRow {
  router: string;
  sequence: unknown;
  receipts_root: string;
  receipt_count: unknown;
  total: unknown;
  status: BatchStatus;
  tx_hash: string | null;
  last_error: string | null;
  created_at: unknown;
  settled_at: unknown;
}

export type CutResult =
  | { kind: 'batch'; batch: BatchRecord }
  /** Every picked receipt charged nothing: closed locally, there is nothing to move on-chain. */
  | { kind: 'free'; count: number }
  | { kind: 'empty' };

/**
 * Assigns up to `maxReceipts` pending receipts (oldest first) to the router's batch `sequence` and
 * records the batch with the Merkle root of their hashes. Receipts locked by another router's cut are
 * skipped, so routers sharing a database never batch a receipt twice.
 */
export async function cutBatch(
  store: Store,
  input: {
    router: Address;
    sequence: bigint;
    maxReceipts: number;
    now?: number;
    /** Receipts set aside at or after this time stay out (default: every set-aside receipt comes). */
    setAsideBefore?: number;
  },
): Promise<CutResult> {
  const router = getAddress(input.router);
  const now = input.now ?? Date.now();
  return store.transaction(async (tx) => {
    await lockRouter(tx, router);
    const [clash] = await tx.query<{ status: BatchStatus }>(
      'select status from settlement_batches where router = $1 and sequence >= $2 and status <> $3 order by sequence limit 1',
      [router, input.sequence, 'superseded'],
    );
    if (clash !== undefined) {
      throw new FatalError('internal_error', {
        message: `the store already has a ${clash.status} batch at or after sequence ${input.sequence}: is this the chain the store was used with?`,
        details: { router, sequence: input.sequence.toString() },
      });
    }
    await tx.query(
      "delete from settlement_batches where router = $1 and sequence = $2 and status = 'superseded'",
      [router, input.sequence],
    );
    // Only what the batch row needs: the receipts themselves stay in the store (see batch-contents.ts).
    const rows = await tx.query<{ id: unknown; receipt_hash: string; charged: unknown }>(
      `update receipts set batch_router = $1, batch_sequence = $2
       where id in (
         select id from receipts where batch_sequence is null and settled_at is null
           and (set_aside_at is null or set_aside_at < $4)
         order by id limit $3 for update skip locked)
       returning id, receipt_hash, charged`,
      [router, input.sequence, input.maxReceipts, input.setAsideBefore ?? Number.MAX_SAFE_INTEGER],
    );
    if (rows.length === 0) return { kind: 'empty' } as const;
    const leaves = rows
      .map((row) => ({ id: bigintOf(row.id), hash: row.receipt_hash as Hex }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const total = rows.reduce((sum, row) => sum + bigintOf(row.charged), 0n);
    if (total === 0n) {
      // The contract refuses an empty batch; free jobs have nothing to settle.
      await tx.query(
        `update receipts set batch_router = null, batch_sequence = null, settled_at = $3
         where batch_router = $1 and batch_sequence = $2`,
        [router, input.sequence, now],
      );
      return { kind: 'free', count: rows.length } as const;
    }
    const receiptsRoot = merkleRoot(leaves.map((leaf) => leaf.hash));
    await tx.query(
      `insert into settlement_batches (router, sequence, receipts_root, receipt_count, total, status, created_at)
       values ($1, $2, $3, $4, $5, 'pending', $6)`,
      [router, input.sequence, receiptsRoot, rows.length, total, now],
    );
    const batch: BatchRecord = {
      router,
      sequence: input.sequence,
      receiptsRoot,
      receiptCount: rows.length,
      total,
      status: 'pending',
      txHash: undefined,
      lastError: undefined,
      createdAt: now,
      settledAt: undefined,
    };
    return { kind: 'batch', batch } as const;
  });
}

/** $1 router: its pending batches, through `settlement_batches_pending_idx` (not all it ever cut). */
export const PENDING_BATCHES_SQL =
  "select * from settlement_batches where router = $1 and status = 'pending' order by sequence";

/** The router's batches not yet known to be applied, lowest sequence first. */
export async function pendingBatches(store: Store, router: Address): Promise<BatchRecord[]> {
  const rows = await store.query<BatchRow>(PENDING_BATCHES_SQL, [getAddress(router)]);
  return rows.map(batchOfRow);
}

export async function batchRecord(
  store: Store,
  router: Address,
  sequence: bigint,
): Promise<BatchRecord | undefined> {
  const [row] = await store.query<BatchRow>(
    'select * from settlement_batches where router = $1 and sequence = $2',
    [getAddress(router), sequence],
  );
  return row === undefined ? undefined : batchOfRow(row);
}

/** The chain applied the batch: it and its receipts are settled, and the router's totals count it once. */
export async function markSettled(
  store: Store,
  router: Address,
  sequence: bigint,
  now: number = Date.now(),
): Promise<void> {
  await store.transaction(async (tx) => {
    const params = [getAddress(router), sequence, now];
    const [settled] = await tx.query<{ receipt_count: unknown }>(
      "update settlement_batches set status = 'settled', settled_at = $3, last_error = null where router = $1 and sequence = $2 and status = 'pending' returning receipt_count",
      params,
    );
    await tx.query(
      'update receipts set settled_at = $3 where batch_router = $1 and batch_sequence = $2 and settled_at is null',
      params,
    );
    // Only the call that moved the batch from pending counts it: marking it again changes nothing.
    if (settled === undefined) return;
    await tx.query(
      `insert into settlement_totals (router, batches, receipts) values ($1, 1, $2)
       on conflict (router) do update set batches = settlement_totals.batches + 1,
         receipts = settlement_totals.receipts + excluded.receipts`,
      [getAddress(router), numberOf(settled.receipt_count)],
    );
  });
}

/** Batches and receipts `router` has settled, all time. */
export async function settledTotals(
  store: Queryable,
  router: Address,
): Promise<{ batches: number; receipts: number }> {
  const [row] = await store.query<{ batches: unknown; receipts: unknown }>(
    'select batches, receipts from settlement_totals where router = $1',
    [getAddress(router)],
  );
  return { batches: numberOf(row?.batches ?? 0), receipts: numberOf(row?.receipts ?? 0) };
}

/** The chain will never apply this batch as written: its receipts go back to the pending pool. */
export async function markSuperseded(
  store: Store,
  router: Address,
  sequence: bigint,
  reason: string,
): Promise<void> {
  await store.transaction((tx) => supersede(tx, getAddress(router), sequence, reason));
}

/**
 * The chain refuses the batch because `payer` cannot pay its share: of that payer's receipts in the batch,
 * the oldest that its `balance` covers go back to the pool with the others (they settle in the next cut),
 * and the rest are set aside (the next cuts leave them out for a while, then try them again). The batch
 * is superseded, its sequence free for the next cut.
 */
export async function setAsidePayer(
  store: Store,
  input: { router: Address; sequence: bigint; payer: Address; balance: bigint; reason: string; now?: number },
): Promise<{ setAside: number; covered: number }> {
  const router = getAddress(input.router);
  const reason = input.reason.slice(0, 1_000);
  return store.transaction(async (tx) => {
    const rows = await tx.query<{ set_aside: boolean }>(
      `with running as (
         select id, sum(charged) over (order by id) > $6::numeric as uncovered from receipts
         where batch_router = $1 and batch_sequence = $2 and payer = $3)
       update receipts r
       set set_aside_at = case when running.uncovered then $4::bigint end,
         set_aside_reason = case when running.uncovered then $5 end
       from running where r.id = running.id
       returning running.uncovered as set_aside`,
      [
        router,
        input.sequence,
        getAddress(input.payer),
        input.now ?? Date.now(),
        reason,
        input.balance.toString(),
      ],
    );
    await supersede(tx, router, input.sequence, reason);
    const setAside = rows.filter((row) => row.set_aside).length;
    return { setAside, covered: rows.length - setAside };
  });
}

/**
 * The receipts not settled yet, from every router: those in no batch (the `receipts_unbatched_idx`
 * partial index) and those in pending batches. Each receipt is in one of the two, or settled; reading
 * them so keeps the cost to the unsettled receipts, where `settled_at is null` alone reads an index entry
 * of every receipt ever stored (no index leads with it) at each metrics scrape: 78 ms at a million
 * receipts on PostgreSQL 15, against about 1 ms.
 */
const UNSETTLED_RECEIPTS = `(
    select r.created_at, r.set_aside_at, r.set_aside_reason from receipts r
    where r.batch_sequence is null and r.settled_at is null
    union all
    select r.created_at, r.set_aside_at, r.set_aside_reason from settlement_batches b
    join receipts r on r.batch_router = b.router and r.batch_sequence = b.sequence
    where b.status = 'pending'
  )`;

/** The receipts not settled yet: how many, since when, and how many of them are set aside (with a reason). */
export interface UnsettledSummary {
  count: number;
  /** created_at of the oldest, or undefined when there is none. */
  oldestAt: number | undefined;
  setAside: number;
  /** One of the set-aside receipts' reasons. */
  setAsideReason: string | undefined;
}

/** One read of the unsettled receipts (each metrics scrape, each flush that ends with some set aside). */
export async function unsettledSummary(store: Store): Promise<UnsettledSummary> {
  const [row] = await store.query<{ n: unknown; oldest: unknown; aside: unknown; reason: string | null }>(
    `select count(*) as n, min(created_at) as oldest,
       count(*) filter (where set_aside_at is not null) as aside,
       max(set_aside_reason) filter (where set_aside_at is not null) as reason
     from ${UNSETTLED_RECEIPTS} u`,
  );
  const oldest = row?.oldest;
  return {
    count: numberOf(row?.n ?? 0),
    oldestAt: oldest === null || oldest === undefined ? undefined : numberOf(oldest),
    setAside: numberOf(row?.aside ?? 0),
    setAsideReason: optionalStringOf(row?.reason ?? null),
  };
}

async function supersede(tx: Queryable, router: Address, sequence: bigint, reason: string): Promise<void> {
  await tx.query(
    'update receipts set batch_router = null, batch_sequence = null where batch_router = $1 and batch_sequence = $2',
    [router, sequence],
  );
  await tx.query(
    "update settlement_batches set status = 'superseded', last_error = $3 where router = $1 and sequence = $2",
    [router, sequence, reason.slice(0, 1_000)],
  );
}

export async function recordBatchTx(
  store: Store,
  router: Address,
  sequence: bigint,
  txHash: Hex,
): Promise<void> {
  await store.query('update settlement_batches set tx_hash = $3 where router = $1 and sequence = $2', [
    getAddress(router),
    sequence,
    txHash,
  ]);
}

export async function recordBatchError(
  store: Store,
  router: Address,
  sequence: bigint,
  error: string,
): Promise<void> {
  await store.query('update settlement_batches set last_error = $3 where router = $1 and sequence = $2', [
    getAddress(router),
    sequence,
    error.slice(0, 1_000),
  ]);
}

function lockRouter(tx: Queryable, router: Address): Promise<unknown> {
  return tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [
    `neurino.settlement:${router.toLowerCase()}`,
  ]);
}

function batchOfRow(row: BatchRow): BatchRecord {
  return {
    router: getAddress(row.router),
    sequence: bigintOf(row.sequence),
    receiptsRoot: row.receipts_root as Hex,
    receiptCount: numberOf(row.receipt_count),
    total: bigintOf(row.total),
    status: row.status,
    txHash: optionalStringOf(row.tx_hash) as Hex | undefined,
    lastError: optionalStringOf(row.last_error),
    createdAt: numberOf(row.created_at),
    settledAt: optionalNumberOf(row.settled_at),
  };
}
