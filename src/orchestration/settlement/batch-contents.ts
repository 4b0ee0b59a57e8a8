// What a settlement transaction needs of a stored batch, read without loading its receipts: the leaves of
// its Merkle tree (receipt hashes in id order) and its charges summed in SQL per (payer, pod, node,
// frontend). A 10,000-receipt batch is then two narrow reads instead of 10,000 wide rows parsed on the
// router's thread (about a third of a second of the store's time, during which ingestion waited).
import { type Address, getAddress, type Hex } from 'viem';
import { bigintOf } from '../store/sql-values.ts';
import type { Queryable } from '../store/store.ts';
import type { SettleableReceipt } from './aggregate.ts';

export interface BatchContents {
  /** Receipt hashes in leaf order (by id). */
  leaves: Hex[];
  /** The batch's charges, one entry per (payer, pod, node, frontend): aggregates like its receipts. */
  groups: SettleableReceipt[];
}

interface GroupRow {
  payer: string;
  pod_id: string;
  node: string;
  frontend: string;
  charged: unknown;
  compute_units: unknown;
}

/** A batch's receipts as leaves of its Merkle tree, in leaf order: each receipt's row id and hash. */
export async function batchLeaves(
  db: Queryable,
  router: Address,
  sequence: bigint,
): Promise<Array<{ id: bigint; hash: Hex }>> {
  const rows = await db.query<{ id: unknown; receipt_hash: string }>(
    'select id, receipt_hash from receipts where batch_router = $1 and batch_sequence = $2 order by id',
    [getAddress(router), sequence],
  );
  return rows.map((row) => ({ id: bigintOf(row.id), hash: row.receipt_hash as Hex }));
}

export async function batchContents(
  db: Queryable,
  router: Address,
  sequence: bigint,
): Promise<BatchContents> {
  const params = [getAddress(router), sequence];
  const leaves = await batchLeaves(db, router, sequence);
  const groupRows = await db.query<GroupRow>(
    `select payer, pod_id, node, frontend, sum(charged) as charged, sum(compute_units) as compute_units
     from receipts where batch_router = $1 and batch_sequence = $2
     group by payer, pod_id, node, frontend`,
    params,
  );
  return {
    leaves: leaves.map((leaf) => leaf.hash),
    groups: groupRows.map((row) => ({
      payer: getAddress(row.payer),
      podId: row.pod_id as Hex,
      node: getAddress(row.node),
      frontend: getAddress(row.frontend),
      price: bigintOf(row.charged),
      computeUnits: bigintOf(row.compute_units),
    })),
  };
}
