import {
  type Address,
  type Hex,
  hashStruct,
  hashTypedData,
  keccak256,
  type LocalAccount,
  stringToBytes,
  toBytes,
} from 'viem';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { eip712Domain, isTypedDataSignedBy, type ProtocolDomain } from './eip712-domain.ts';
import { AddressSchema, Bytes32Schema, TimestampMsSchema, Uint256Schema } from './scalars.ts';

/**
 * The Receipt of one finished job: signed by the node and by the router (EIP-712), batched, and settled
 * on-chain by the Settlement contract (the domain's `verifyingContract`). Times are milliseconds since the
 * Unix epoch; `frontend` is the zero address when no frontend referred the job; `price` is wei.
 * The Solidity struct must list the same fields in the same order (see RECEIPT_TYPE).
 */
export const RECEIPT_TYPES = {
  Receipt: [
    { name: 'jobId', type: 'bytes32' },
    { name: 'attemptId', type: 'bytes32' },
    { name: 'podId', type: 'bytes32' },
    { name: 'node', type: 'address' },
    { name: 'frontend', type: 'address' },
    { name: 'payer', type: 'address' },
    { name: 'computeUnits', type: 'uint256' },
    { name: 'inputTokens', type: 'uint32' },
    { name: 'outputTokens', type: 'uint32' },
    { name: 'price', type: 'uint256' },
    { name: 'resultHash', type: 'bytes32' },
    { name: 'startedAt', type: 'uint64' },
    { name: 'finishedAt', type: 'uint64' },
  ],
} as const;

/** The EIP-712 type string, as Solidity writes it for `RECEIPT_TYPEHASH`. */
export const RECEIPT_TYPE = `Receipt(${RECEIPT_TYPES.Receipt.map((f) => `${f.type} ${f.name}`).join(',')})`;
export const RECEIPT_TYPEHASH: Hex = keccak256(toBytes(RECEIPT_TYPE));

const Uint32 = z
  .int()
  .min(0)
  .max(2 ** 32 - 1);

/** A receipt as stored and sent (uint256 as decimal strings on the wire, bigint in memory). */
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

/** EIP-712 signature by `account` (the node, or the router countersigning). */
export function signReceipt(account: LocalAccount, domain: ProtocolDomain, receipt: Receipt): Promise<Hex> {
  return account.signTypedData(receiptTypedData(domain, receipt));
}

/** True when `signature` is `expectedSigner`'s over this receipt in this domain. Never throws. */
export function verifyReceipt(
  domain: ProtocolDomain,
  receipt: Receipt,
  signature: Hex,
  expectedSigner: Address,
): Promise<boolean> {
  return isTypedDataSignedBy({ ...receiptTypedData(domain, receipt), signature }, expectedSigner);
}

/** The EIP-712 struct hash (no domain): the leaf of a settlement batch's Merkle tree. */
export function hashReceipt(receipt: Receipt): Hex {
  return hashStruct({ data: receiptMessage(receipt), primaryType: 'Receipt', types: RECEIPT_TYPES });
}

/** The digest actually signed (domain separator + struct hash), what `ecrecover` sees on-chain. */
export function receiptDigest(domain: ProtocolDomain, receipt: Receipt): Hex {
  return hashTypedData(receiptTypedData(domain, receipt));
}

/** keccak256 of the canonical JSON of a job's output: what a receipt commits to. */
export function resultHash(output: unknown): Hex {
  return keccak256(stringToBytes(canonicalJson(output)));
}
