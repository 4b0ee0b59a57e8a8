// A job's receipt with everything a caller needs to check it without trusting the router: the receipt the
// node signed (and its signature), the router's attestation of it (Merkle proof to a signed root), where it
// is in settlement, and the EIP-712 domain all signatures are made in. Serves GET /v1/receipts/:id.
import type { Address, Hex } from 'viem';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import { MerkleTree } from '../../protocol/merkle.ts';
import type { Receipt } from '../../protocol/receipt.ts';
import type { ReceiptAttestation } from '../../protocol/receipt-attestation.ts';
import { batchLeaves } from '../settlement/batch-contents.ts';
import type { Store } from '../store/store.ts';
import { readAttestedReceipt } from './credit-ledger.ts';
import type { MeteringEntry } from './metering-entries.ts';
import { type ReceiptRow, receiptOfRow, type StoredReceipt, storedReceiptOfRow } from './receipt-rows.ts';

/** A settlement batch as the Settlement contract keys it, its Merkle root, and this receipt's proof to it. */
export interface BatchInclusion {
  router: Address;
  sequence: bigint;
  /** What `Settlement.batchRoot(router, sequence)` holds once the batch is applied. */
  receiptsRoot: Hex;
  proof: Hex[];
}

export type SettlementState =
  /** Durable in the router's journal, not in the store yet (so not attested either): about a second. */
  | { status: 'journaled' }
  /** Stored, in no batch yet. */
  | { status: 'unbatched' }
  /** In a batch sent (or about to be sent) to the Settlement contract, not yet confirmed. */
  | { status: 'batched'; batch: BatchInclusion }
  /** Paid out on-chain; `batch` is absent for a receipt that charged nothing (no transaction). */
  | { status: 'settled'; batch: BatchInclusion | undefined; settledAt: number };

export interface ReceiptAudit {
  publicId: string;
  receipt: Receipt;
  /** EIP-712 struct hash: what the node signed, and the receipt's leaf in every Merkle tree. */
  receiptHash: Hex;
  nodeSignature: Hex;
  /** Wei taken from the payer's credits (the receipt's price, capped at the job's reservation). */
  charged: bigint;
  /** The router's signed root and this receipt's proof to it; absent when stored unattested. */
  attestation: { proof: Hex[]; signed: ReceiptAttestation } | undefined;
  /** Receipts stored before batch attestations carry a router signature of their own instead. */
  routerSignature: Hex | undefined;
  settlement: SettlementState;
  /** Chain and Settlement contract of the EIP-712 domain every signature here is made in. */
  domain: ProtocolDomain;
}

/** A batch's tree, each receipt's leaf index by row id, and the root recorded when it was cut. */
interface CachedBatch {
  tree: MerkleTree;
  ids: Map<bigint, number>;
  root: Hex;
}

/** Batches whose trees are kept: an applied batch never changes, and reading one costs up to 10,000 rows. */
const CACHED_BATCHES = 8;

const BY_PUBLIC_ID_SQL = `select r.* from jobs j join receipts r on r.job_id = j.job_id
  where j.public_id = $1`;

export class ReceiptAudits {
  readonly #store: Store;
  readonly #domain: ProtocolDomain;
  readonly #unstored: ((publicId: string) => MeteringEntry | undefined) | undefined;
  /** Trees of recently read batches by `router:sequence`, oldest first. */
  readonly #trees = new Map<string, CachedBatch>();

  /**
   * `domain`: the one the router's nodes sign receipts in and the router attests them in; `unstored`: the
   * metering's steps durable in its journal but not stored yet (Metering.unstored), so that a receipt is
   * there the moment its answer is.
   */
  constructor(options: {
    store: Store;
    domain: ProtocolDomain;
    unstored?: (publicId: string) => MeteringEntry | undefined;
  }) {
    this.#store = options.store;
    this.#domain = options.domain;
    this.#unstored = options.unstored;
  }

  /** The receipt of the job the caller knows as `publicId`, stored or journaled; undefined when it has none. */
  async byPublicId(publicId: string): Promise<ReceiptAudit | undefined> {
    // The journal first: an entry leaves it once stored, so asked after the store it could be in neither.
    const journaled = this.#journaled(publicId);
    if (journaled !== undefined) return journaled;
    const [row] = await this.#store.query<ReceiptRow>(BY_PUBLIC_ID_SQL, [publicId]);
    if (row === undefined) return undefined;
    const stored = storedReceiptOfRow(row);
    const attested =
      stored.attestation === undefined
        ? undefined
        : await readAttestedReceipt(this.#store, stored.receipt.jobId);
    return {
      publicId,
      receipt: stored.receipt,
      receiptHash: stored.receiptHash,
      nodeSignature: stored.nodeSignature,
      charged: stored.charged,
      attestation:
        attested === undefined ? undefined : { proof: attested.proof, signed: attested.attestation },
      routerSignature: stored.routerSignature,
      settlement: await this.#settlement(stored),
      domain: this.#domain,
    };
  }

  /** The receipt as its journal entry holds it (the row it will be): nothing attests or batches it yet. */
  #journaled(publicId: string): ReceiptAudit | undefined {
    const row = this.#unstored?.(publicId)?.receipt;
    if (row === undefined) return undefined;
    return {
      publicId,
      receipt: receiptOfRow(row as unknown as ReceiptRow),
      receiptHash: row.receipt_hash as Hex,
      nodeSignature: row.node_signature as Hex,
      charged: BigInt(row.charged),
      attestation: undefined,
      routerSignature: undefined,
      settlement: { status: 'journaled' },
      domain: this.#domain,
    };
  }

  async #settlement(stored: StoredReceipt): Promise<SettlementState> {
    const batch = stored.batch === undefined ? undefined : await this.#inclusion(stored);
    if (stored.settledAt !== undefined) return { status: 'settled', batch, settledAt: stored.settledAt };
    return batch === undefined ? { status: 'unbatched' } : { status: 'batched', batch };
  }

  /** The receipt's place in its batch's tree: the batch's leaves are its receipts' hashes in id order. */
  async #inclusion(stored: StoredReceipt): Promise<BatchInclusion | undefined> {
    const { router, sequence } = stored.batch as NonNullable<StoredReceipt['batch']>;
    const key = `${router}:${sequence}`;
    let cached = this.#trees.get(key);
    if (cached === undefined) {
      const [batch] = await this.#store.query<{ receipts_root: string }>(
        'select receipts_root from settlement_batches where router = $1 and sequence = $2',
        [router, sequence],
      );
      const leaves = await batchLeaves(this.#store, router, sequence);
      if (batch === undefined || leaves.length === 0) return undefined;
      cached = {
        tree: MerkleTree.from(leaves.map((leaf) => leaf.hash)),
        ids: new Map(leaves.map((leaf, index) => [leaf.id, index])),
        root: batch.receipts_root as Hex,
      };
      // Only applied batches are kept: a pending one may still be superseded and cut again.
      if (stored.settledAt !== undefined) this.#remember(key, cached);
    }
    const index = cached.ids.get(stored.id);
    if (index === undefined) return undefined;
    return { router, sequence, receiptsRoot: cached.root, proof: cached.tree.proof(index) };
  }

  #remember(key: string, entry: CachedBatch): void {
    this.#trees.set(key, entry);
    if (this.#trees.size <= CACHED_BATCHES) return;
    const oldest = this.#trees.keys().next().value;
    if (oldest !== undefined) this.#trees.delete(oldest);
  }
}
