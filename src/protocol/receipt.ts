import type { Address, Hex, LocalAccount } from 'viem';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { eip712Domain, isDigestSignedBy, type ProtocolDomain } from './eip712-domain.ts';
import { keccak256Hex } from './keccak.ts';
import { RECEIPT_TYPES, receiptHashes, receiptStructHash } from './receipt-hash.ts';
import { AddressSchema, Bytes32Schema, TimestampMsSchema, Uint256Schema } from './scalars.ts';

// The struct's definition sits with its encoder; most code imports it from here, with the Receipt.
export { RECEIPT_TYPE, RECEIPT_TYPEHASH, RECEIPT_TYPES } from './receipt-hash.ts';

const Uint32 = z
  .int()
  .min(0)
  .max(2 ** 32 - 1);

/**
 * The Receipt of one finished job: signed by the node and by the router (EIP-712), batched, and settled
 * on-chain by the Settlement contract (the domain's `verifyingContract`). Times are milliseconds since the
 * Unix epoch; `frontend` is the zero address when no frontend referred the job; `price` is wei.
 * As stored and sent: uint256 as decimal strings on the wire, bigint in memory. The EIP-712 struct
 * (RECEIPT_TYPES, same fields in the same order) and its hashes are in receipt-hash.ts.
 */
export const ReceiptSchema = z
  .object({
    jobId: Bytes32Schema,
    attemptId: Bytes32Schema,
    podId: Bytes32Schema,
    node: AddressSchema,
    frontend: AddressSchema,
    payer: AddressSchema,
    computeUnits: Uint256Schema,
    inputTokens: Uint32,
    outputTokens: Uint32,
    price: Uint256Schema,
    resultHash: Bytes32Schema,
    startedAt: TimestampMsSchema,
    finishedAt: TimestampMsSchema,
  })
  .refine((r) => r.startedAt <= r.finishedAt, {
    message: 'finishedAt precedes startedAt',
    path: ['finishedAt'],
  });

export type Receipt = z.output<typeof ReceiptSchema>;
export type ReceiptJson = z.input<typeof ReceiptSchema>;

function receiptMessage(receipt: Receipt) {
  return { ...receipt, startedAt: BigInt(receipt.startedAt), finishedAt: BigInt(receipt.finishedAt) };
}

export function receiptTypedData(domain: ProtocolDomain, receipt: Receipt) {
  return {
    domain: eip712Domain(domain),
    types: RECEIPT_TYPES,
    primaryType: 'Receipt' as const,
    message: receiptMessage(receipt),
  };
}

/**
 * EIP-712 signature by `account` (the node). Accounts that sign raw hashes
 * (viem's local accounts, fastAccount) sign `digest` directly, which gives the same bytes as signing the
 * typed data; pass `digest` when it is already known (it must be `receiptDigest(domain, receipt)`).
 */
export async function signReceipt(
  account: LocalAccount,
  domain: ProtocolDomain,
  receipt: Receipt,
  digest?: Hex,
): Promise<Hex> {
  if (account.sign === undefined) return account.signTypedData(receiptTypedData(domain, receipt));
  return account.sign({ hash: digest ?? receiptDigest(domain, receipt) });
}

/**
 * True when `signature` is `expectedSigner`'s over this receipt in this domain. Never throws (a receipt
 * that cannot be encoded is signed by nobody). `digest`, when given, must be `receiptDigest(domain, receipt)`.
 */
export async function verifyReceipt(
  domain: ProtocolDomain,
  receipt: Receipt,
  signature: Hex,
  expectedSigner: Address,
  digest?: Hex,
): Promise<boolean> {
  let signed: Hex;
  try {
    signed = digest ?? receiptDigest(domain, receipt);
  } catch {
    return false;
  }
  return isDigestSignedBy(signed, signature, expectedSigner);
}

/** The EIP-712 struct hash (no domain): the leaf of a settlement batch's Merkle tree. */
export function hashReceipt(receipt: Receipt): Hex {
  return receiptStructHash(receipt);
}

/** The digest actually signed (domain separator + struct hash), what `ecrecover` sees on-chain. */
export function receiptDigest(domain: ProtocolDomain, receipt: Receipt): Hex {
  return receiptHashes(domain, receipt).digest;
}

/** keccak256 of the canonical JSON of a job's output: what a receipt commits to. */
export function resultHash(output: unknown): Hex {
  return keccak256Hex(Buffer.from(canonicalJson(output), 'utf8'));
}
