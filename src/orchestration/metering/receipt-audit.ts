// A job's receipt with everything a caller needs to check it without trusting the router, as the protocol's
// answer of GET /v1/receipts/:id (protocol/receipt-audit.ts): the receipt the node signed and its signature,
// the router's attestation of it (Merkle proof to a signed root), where it is in settlement (with a proof to
// its batch's root), and the EIP-712 domain all signatures are made in.
import type { Hex } from 'viem';
import { EIP712_NAME, EIP712_VERSION, type ProtocolDomain } from '../../protocol/eip712-domain.ts';
import { MerkleTree } from '../../protocol/merkle.ts';
import type { ReceiptAuditAnswer } from '../../protocol/receipt-audit.ts';
import { batchLeaves } from '../settlement/batch-contents.ts';
import { batchRecord } from '../settlement/batch-records.ts';
import type { Store } from '../store/store.ts';
import { readAttestation } from './credit-ledger.ts';
import type { MeteringEntry } from './metering-entries.ts';
import { type ReceiptRow, receiptOfRow, type StoredReceipt, storedReceiptOfRow } from './receipt-rows.ts';

type Settlement = ReceiptAuditAnswer['settlement'];

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
  readonly #domain: ReceiptAuditAnswer['domain'];
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
    this.#domain = {
      name: EIP712_NAME,
      version: EIP712_VERSION,
      chain_id: options.domain.chainId,
      verifying_contract: options.domain.verifyingContract,
    };
    this.#unstored = options.unstored;
  }

  /** The receipt of the job the caller knows as `publicId`, stored or journaled; undefined when it has none. */
  async byPublicId(publicId: string): Promise<ReceiptAuditAnswer | undefined> {
    // The journal first: an entry leaves it once stored, so asked after the store it could be in neither.
    const journaled = this.#journaled(publicId);
    if (journaled !== undefined) return journaled;
    const [row] = await this.#store.query<ReceiptRow>(BY_PUBLIC_ID_SQL, [publicId]);
    if (row === undefined) return undefined;
    const stored = storedReceiptOfRow(row);
    const attested =
      stored.attestation === undefined
        ? undefined
        : await readAttestation(this.#store, stored.attestation.receiptsRoot, stored.attestation.index);
    return {
      ...this.#answer(publicId, stored),
      attestation:
        attested === undefined
          ? null
          : {
              router: attested.attestation.router,
              receipts_root: attested.attestation.receiptsRoot,
              receipt_count: attested.attestation.receiptCount,
              proof: attested.proof,
              signature: attested.attestation.signature,
            },
      router_signature: stored.routerSignature ?? null,
      settlement: await this.#settlement(stored),
    };
  }

  /** The receipt as its journal entry holds it (the row it will be): nothing attests or batches it yet. */
  #journaled(publicId: string): ReceiptAuditAnswer | undefined {
    const row = this.#unstored?.(publicId)?.receipt;
    if (row === undefined) return undefined;
    const pending = {
      receipt: receiptOfRow(row as unknown as ReceiptRow),
      receiptHash: row.receipt_hash as Hex,
      nodeSignature: row.node_signature as Hex,
      charged: BigInt(row.charged),
    };
    return {
      ...this.#answer(publicId, pending),
      attestation: null,
      router_signature: null,
      settlement: { status: 'journaled', batch: null, settled_at: null },
    };
  }

  /** What every answer carries, however far the receipt has come. */
  #answer(
    publicId: string,
    stored: Pick<StoredReceipt, 'receipt' | 'receiptHash' | 'nodeSignature' | 'charged'>,
  ) {
    return {
      object: 'receipt' as const,
      id: publicId,
      receipt: stored.receipt,
      receipt_hash: stored.receiptHash,
      node_signature: stored.nodeSignature,
      charged: stored.charged,
      domain: this.#domain,
    };
  }

  async #settlement(stored: StoredReceipt): Promise<Settlement> {
    const batch = stored.batch === undefined ? null : await this.#inclusion(stored);
    if (stored.settledAt !== undefined) return { status: 'settled', batch, settled_at: stored.settledAt };
    return batch === null
      ? { status: 'unbatched', batch: null, settled_at: null }
      : { status: 'batched', batch, settled_at: null };
  }

  /** The receipt's place in its batch's tree: the batch's leaves are its receipts' hashes in id order. */
  async #inclusion(stored: StoredReceipt): Promise<Settlement['batch']> {
    const { router, sequence } = stored.batch as NonNullable<StoredReceipt['batch']>;
    const key = `${router}:${sequence}`;
    let cached = this.#trees.get(key);
    if (cached === undefined) {
      const batch = await batchRecord(this.#store, router, sequence);
      const leaves = await batchLeaves(this.#store, router, sequence);
      if (batch === undefined || leaves.length === 0) return null;
      cached = {
        tree: MerkleTree.from(leaves.map((leaf) => leaf.hash)),
        ids: new Map(leaves.map((leaf, index) => [leaf.id, index])),
        root: batch.receiptsRoot,
      };
      // Only applied batches are kept: a pending one may still be superseded and cut again.
      if (stored.settledAt !== undefined) this.#remember(key, cached);
    }
    const index = cached.ids.get(stored.id);
    if (index === undefined) return null;
    return { router, sequence, receipts_root: cached.root, proof: cached.tree.proof(index) };
  }

  #remember(key: string, entry: CachedBatch): void {
    this.#trees.set(key, entry);
    if (this.#trees.size <= CACHED_BATCHES) return;
    const oldest = this.#trees.keys().next().value;
    if (oldest !== undefined) this.#trees.delete(oldest);
  }
}
