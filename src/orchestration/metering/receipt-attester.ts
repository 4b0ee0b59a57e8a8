// The router's attestation of a batch of receipts on their way to the store: the Merkle tree of their
// struct hashes and the router's signature over its root (protocol/receipt-attestation.ts).
import type { Address, Hex } from 'viem';
import { RetryableError } from '../../protocol/errors.ts';
import { isMerkleLeaf } from '../../protocol/merkle.ts';
import {
  type ReceiptAttestationMessage,
  receiptAttestationTree,
} from '../../protocol/receipt-attestation.ts';
import type { MeteringEntry } from './metering-entries.ts';

/** The router's key, signing attestations (their EIP-712 digest) off the jobs' path. */
export interface ReceiptAttester {
  router: Address;
  sign(message: ReceiptAttestationMessage): Promise<Hex>;
}

type ReceiptRowJson = NonNullable<MeteringEntry['receipt']>;

/** An attestation ready to store with its receipts: each attested row's leaf index, by the row. */
export interface BatchAttestation {
  receiptsRoot: Hex;
  router: Address;
  receiptCount: number;
  /** The leaves in order, 32 bytes each, in hex without 0x (the `leaves` column). */
  leavesHex: string;
  signature: Hex;
  createdAt: number;
  indexOf: Map<ReceiptRowJson, number>;
}

/**
 * Attests the receipts among `entries`; undefined when there are none. A receipt whose hash is not 32
 * bytes (a corrupt journal line) is left out and stored unattested rather than holding back the batch.
 */
export async function attestReceipts(
  entries: readonly MeteringEntry[],
  attester: ReceiptAttester,
  now: number = Date.now(),
): Promise<BatchAttestation | undefined> {
  const indexOf = new Map<ReceiptRowJson, number>();
  const leaves: Hex[] = [];
  for (const { receipt } of entries) {
    if (receipt === undefined || !isMerkleLeaf(receipt.receipt_hash)) continue;
    indexOf.set(receipt, leaves.length);
    leaves.push(receipt.receipt_hash);
  }
  if (leaves.length === 0) return undefined;
  const { message } = receiptAttestationTree(leaves);
  let signature: Hex;
  try {
    signature = (await attester.sign(message)).toLowerCase() as Hex;
  } catch (cause) {
    // A remote signer (KMS, HSM) may be away for a while: the entries wait, as for a store that refuses.
    throw new RetryableError('service_unavailable', {
      message: 'the router key could not attest the receipts being stored',
      cause,
    });
  }
  return {
    receiptsRoot: message.receiptsRoot,
    router: attester.router,
    receiptCount: message.receiptCount,
    leavesHex: leaves.map((leaf) => leaf.slice(2)).join(''),
    signature,
    createdAt: now,
    indexOf,
  };
}
