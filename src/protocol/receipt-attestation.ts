// The router's signature on the receipts it stores: one EIP-712 signature over the Merkle root of the
// receipts stored together (the same sorted-pair tree a settlement batch uses, leaves the receipts' struct
// hashes), rather than one signature per receipt. A receipt is attested by its Merkle proof against a
// signed root, which anyone can check off-chain or with OpenZeppelin's MerkleProof and ECDSA on-chain; the
// router spends one signature per stored batch (up to a few hundred jobs) instead of one per job.
import { type Address, type Hex, hashTypedData } from 'viem';
import { eip712Domain, isDigestSignedBy, type ProtocolDomain } from './eip712-domain.ts';
import { FatalError } from './errors.ts';
import { MerkleTree, verifyMerkleProof } from './merkle.ts';

export const RECEIPT_ATTESTATION_TYPES = {
  ReceiptAttestation: [
    { name: 'receiptsRoot', type: 'bytes32' },
    { name: 'receiptCount', type: 'uint32' },
  ],
} as const;

/** What the router signs: the root of the attested receipts' tree and how many leaves it has. */
export interface ReceiptAttestationMessage {
  receiptsRoot: Hex;
  receiptCount: number;
}

/** A signed attestation, as the router stores it. */
export interface ReceiptAttestation extends ReceiptAttestationMessage {
  router: Address;
  /** r ‖ s ‖ v (v 27/28) over receiptAttestationDigest. */
  signature: Hex;
}

/** One receipt's evidence: its struct hash, its proof, and the attestation whose root the proof reaches. */
export interface AttestedReceipt {
  receiptHash: Hex;
  proof: Hex[];
  attestation: ReceiptAttestation;
}

/** The largest tree an attestation may cover (its count is a uint32). */
const MAX_RECEIPTS = 2 ** 32 - 1;

/** The EIP-712 digest the router signs for `message` in `domain`. */
export function receiptAttestationDigest(domain: ProtocolDomain, message: ReceiptAttestationMessage): Hex {
  const { receiptsRoot, receiptCount } = message;
  if (!Number.isInteger(receiptCount) || receiptCount < 1 || receiptCount > MAX_RECEIPTS)
    throw new FatalError('invalid_request', {
      message: `an attestation covers 1 to ${MAX_RECEIPTS} receipts, got ${receiptCount}`,
    });
  return hashTypedData({
    domain: eip712Domain(domain),
    types: RECEIPT_ATTESTATION_TYPES,
    primaryType: 'ReceiptAttestation',
    message: { receiptsRoot, receiptCount },
  });
}

/** The tree over `receiptHashes` (struct hashes, in the order stored) and the message to sign for it. */
export function receiptAttestationTree(receiptHashes: readonly Hex[]): {
  tree: MerkleTree;
  message: ReceiptAttestationMessage;
} {
  const tree = MerkleTree.from(receiptHashes);
  return { tree, message: { receiptsRoot: tree.root, receiptCount: tree.size } };
}

/**
 * The evidence for the receipt at `index` of an attestation's leaves (`leaves` in their stored order, as
 * receiptAttestationTree got them); throws if the leaves do not make the attested root.
 */
export function attestedReceipt(
  attestation: ReceiptAttestation,
  leaves: readonly Hex[],
  index: number,
): AttestedReceipt {
  const { tree } = receiptAttestationTree(leaves);
  if (tree.root !== attestation.receiptsRoot.toLowerCase() || tree.size !== attestation.receiptCount) {
    throw new FatalError('internal_error', {
      message: `the stored leaves of attestation ${attestation.receiptsRoot} do not make its root`,
    });
  }
  const receiptHash = leaves[index];
  if (receiptHash === undefined)
    throw new FatalError('invalid_request', { message: `no receipt at index ${index}` });
  return { receiptHash: receiptHash.toLowerCase() as Hex, proof: tree.proof(index), attestation };
}

/**
 * True when `evidence` proves that its receipt was attested by `router` in `domain`: the proof reaches the
 * root and the root's signature is the router's. Never throws: malformed evidence is simply not proof.
 */
export function isReceiptAttested(
  domain: ProtocolDomain,
  evidence: AttestedReceipt,
  router: Address,
): boolean {
  try {
    const { receiptHash, proof, attestation } = evidence;
    if (attestation.router.toLowerCase() !== router.toLowerCase()) return false;
    if (proof.length > 32 || !verifyMerkleProof(receiptHash, proof, attestation.receiptsRoot)) return false;
    return isDigestSignedBy(receiptAttestationDigest(domain, attestation), attestation.signature, router);
  } catch {
    return false;
  }
}
