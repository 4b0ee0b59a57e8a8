import type { Address } from 'viem';
import { z } from 'zod';
import { EIP712_NAME, EIP712_VERSION, type ProtocolDomain } from './eip712-domain.ts';
import { verifyMerkleProof } from './merkle.ts';
import { hashReceipt, ReceiptSchema, verifyReceipt } from './receipt.ts';
import { isReceiptAttested } from './receipt-attestation.ts';
import {
  AddressSchema,
  Bytes32Schema,
  SignatureSchema,
  TimestampMsSchema,
  Uint256Schema,
} from './scalars.ts';
import { parseWith, type Result } from './schema-errors.ts';

/**
 * The answer of `GET /v1/receipts/:id`: a job's receipt as its node signed it (the EIP-712 struct's own
 * field names), the router's attestation of it, its settlement batch, and the EIP-712 domain, so that
 * a caller checks it all without trusting the router (`checkReceiptAudit`). The envelope is snake case,
 * as the rest of the HTTP API; wei and sequences are decimal strings.
 */
export const ReceiptAuditSchema = z.object({
  object: z.literal('receipt'),
  id: z.string().min(1).max(64),
  receipt: ReceiptSchema,
  receipt_hash: Bytes32Schema,
  node_signature: SignatureSchema,
  charged: Uint256Schema,
  /** The router's signed Merkle root over the receipts it stored together, and this one's proof to it. */
  attestation: z
    .object({
      router: AddressSchema,
      receipts_root: Bytes32Schema,
      receipt_count: z.int().min(1),
      proof: z.array(Bytes32Schema).max(32),
      signature: SignatureSchema,
    })
    .nullable(),
  /** Receipts stored before batch attestations were countersigned one by one. */
  router_signature: SignatureSchema.nullable(),
  settlement: z.object({
    /** journaled (durable in the router's journal, not stored or attested yet), unbatched, batched, settled. */
    status: z.enum(['journaled', 'unbatched', 'batched', 'settled']),
    /** The batch as the Settlement contract keys it; its root is `batchRoot(router, sequence)` once applied. */
    batch: z
      .object({
        router: AddressSchema,
        sequence: Uint256Schema,
        receipts_root: Bytes32Schema,
        proof: z.array(Bytes32Schema).max(64),
      })
      .nullable(),
    settled_at: TimestampMsSchema.nullable(),
  }),
  domain: z.object({
    name: z.literal(EIP712_NAME),
    version: z.literal(EIP712_VERSION),
    chain_id: z.int().min(1),
    verifying_contract: AddressSchema,
  }),
});

export type ReceiptAuditAnswer = z.output<typeof ReceiptAuditSchema>;
export type ReceiptAuditJson = z.input<typeof ReceiptAuditSchema>;

/** The answer as JSON (what the gateway sends). */
export function receiptAuditJson(answer: ReceiptAuditAnswer): ReceiptAuditJson {
  return z.encode(ReceiptAuditSchema, answer);
}

/** An answer read back, checked field by field (what a client does first). */
export function parseReceiptAudit(json: unknown): Result<ReceiptAuditAnswer> {
  return parseWith(ReceiptAuditSchema, json);
}

export interface ReceiptAuditCheck {
  /** The receipt hashes to `receipt_hash`, the leaf both Merkle proofs start from. */
  hashMatches: boolean;
  /** `node_signature` is the receipt's node's signature of it in the stated domain. */
  nodeSigned: boolean;
  /** The proof reaches a root `router` signed (false if another key signed it); undefined without one. */
  attested: boolean | undefined;
  /**
   * The batch proof reaches `settlement.batch.receipts_root`; undefined without a batch. Compare that root
   * with `Settlement.batchRoot(router, sequence)` on-chain to know the batch was applied as stated.
   */
  inBatch: boolean | undefined;
}

/** What `audit` proves, each part on its own; `router`: the key expected to have attested it. */
export async function checkReceiptAudit(
  audit: ReceiptAuditAnswer,
  router: Address,
): Promise<ReceiptAuditCheck> {
  const domain: ProtocolDomain = {
    chainId: audit.domain.chain_id,
    verifyingContract: audit.domain.verifying_contract,
  };
  const { receipt, receipt_hash: receiptHash, attestation } = audit;
  const batch = audit.settlement.batch;
  return {
    hashMatches: hashReceipt(receipt) === receiptHash,
    nodeSigned: await verifyReceipt(domain, receipt, audit.node_signature, receipt.node),
    attested:
      attestation === null
        ? undefined
        : isReceiptAttested(
            domain,
            {
              receiptHash,
              proof: attestation.proof,
              attestation: {
                router: attestation.router,
                receiptsRoot: attestation.receipts_root,
                receiptCount: attestation.receipt_count,
                signature: attestation.signature,
              },
            },
            router,
          ),
    inBatch: batch === null ? undefined : verifyMerkleProof(receiptHash, batch.proof, batch.receipts_root),
  };
}
