// Receipts as rows of the `receipts` table and back.
import { type Address, getAddress, type Hex } from 'viem';
import type { Receipt } from '../../protocol/receipt.ts';
import { bigintOf, numberOf, optionalNumberOf } from '../store/sql-values.ts';

export interface ReceiptRow {
  id: unknown;
  job_id: string;
  attempt_id: string;
  pod_id: string;
  node: string;
  frontend: string;
  payer: string;
  compute_units: unknown;
  input_tokens: unknown;
  output_tokens: unknown;
  price: unknown;
  result_hash: string;
  started_at: unknown;
  finished_at: unknown;
  receipt_hash: string;
  node_signature: string;
  router_signature: string | null;
  attestation_root: string | null;
  attestation_index: unknown;
  charged: unknown;
  created_at: unknown;
  batch_router: string | null;
  batch_sequence: unknown;
  settled_at: unknown;
}

/** A receipt as the router stored it: the signed receipt, its signatures, and where it is in settlement. */
export interface StoredReceipt {
  id: bigint;
  receipt: Receipt;
  /** EIP-712 struct hash: the leaf of its batch's Merkle tree. */
  receiptHash: Hex;
  nodeSignature: Hex;
  /** The router's attestation it was stored under (its Merkle root) and its leaf's index there. */
  attestation: { receiptsRoot: Hex; index: number } | undefined;
  /** Receipts stored before attestations (schema version 7) carry the router's signature of their own. */
  routerSignature: Hex | undefined;
  /** Wei taken from the payer's credits: the receipt's price, capped at the job's reservation. */
  charged: bigint;
  createdAt: number;
  batch: { router: Address; sequence: bigint } | undefined;
  settledAt: number | undefined;
}

export function receiptOfRow(row: ReceiptRow): Receipt {
  return {
    jobId: row.job_id as Hex,
    attemptId: row.attempt_id as Hex,
    podId: row.pod_id as Hex,
    node: getAddress(row.node),
    frontend: getAddress(row.frontend),
    payer: getAddress(row.payer),
    computeUnits: bigintOf(row.compute_units),
    inputTokens: numberOf(row.input_tokens),
    outputTokens: numberOf(row.output_tokens),
    price: bigintOf(row.price),
    resultHash: row.result_hash as Hex,
    startedAt: numberOf(row.started_at),
    finishedAt: numberOf(row.finished_at),
  };
}

export function storedReceiptOfRow(row: ReceiptRow): StoredReceipt {
  return {
    id: bigintOf(row.id),
    receipt: receiptOfRow(row),
    receiptHash: row.receipt_hash as Hex,
    nodeSignature: row.node_signature as Hex,
    attestation:
      row.attestation_root === null || row.attestation_index === null
        ? undefined
        : { receiptsRoot: row.attestation_root as Hex, index: numberOf(row.attestation_index) },
    routerSignature: (row.router_signature ?? undefined) as Hex | undefined,
    charged: bigintOf(row.charged),
    createdAt: numberOf(row.created_at),
    batch:
      row.batch_router === null || row.batch_sequence === null
        ? undefined
        : { router: getAddress(row.batch_router), sequence: bigintOf(row.batch_sequence) },
    settledAt: optionalNumberOf(row.settled_at),
  };
}
