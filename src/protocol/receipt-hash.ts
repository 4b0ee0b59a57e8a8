// The Receipt's EIP-712 hashes, encoded by hand for this one fixed struct: viem's generic encoder costs
// 0.1-0.3 ms per call (it re-hashes the type strings and the domain each time), and the router used to
// hash every receipt three times. Byte-identical to viem's `hashStruct` / `hashTypedData`
// (receipt-hash.test.ts) and to OpenZeppelin's EIP712 on-chain (solidity-compat.test.ts).
import {
  bytesToHex,
  encodeAbiParameters,
  type Hex,
  hexToBytes,
  isAddress,
  keccak256,
  parseAbiParameters,
  toBytes,
} from 'viem';
import { EIP712_NAME, EIP712_VERSION, type ProtocolDomain } from './eip712-domain.ts';
import { FatalError } from './errors.ts';
import { keccak256Bytes, keccak256Hex } from './keccak.ts';
import type { Receipt } from './receipt.ts';

/**
 * The Receipt struct. The Solidity struct must list the same fields in the same order (see RECEIPT_TYPE);
 * the encoder below follows this list, so it cannot drift from it.
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

/** A receipt's two hashes: the Merkle leaf of its settlement batch, and what its signers sign. */
export interface ReceiptHashes {
  /** EIP-712 struct hash (no domain). */
  structHash: Hex;
  /** keccak256(0x1901 ‖ domainSeparator ‖ structHash): what `ecrecover` sees on-chain. */
  digest: Hex;
}

/** A receipt field (or its domain) that does not fit its Solidity type: it can be neither signed nor settled. */
export class ReceiptEncodingError extends FatalError {
  override name = 'ReceiptEncodingError';
  readonly field: string;
  constructor(field: string, problem: string, cause?: unknown) {
    super('internal_error', {
      message: `receipt ${field} ${problem}`,
      details: { field },
      ...(cause === undefined ? {} : { cause }),
    });
    this.field = field;
  }
}

type FieldName = (typeof RECEIPT_TYPES.Receipt)[number]['name'];
type FieldPlan =
  | { name: FieldName; kind: 'bytes32' }
  | { name: FieldName; kind: 'address' }
  | { name: FieldName; kind: 'uint'; bits: number; max: bigint };

const PLAN: readonly FieldPlan[] = RECEIPT_TYPES.Receipt.map((field): FieldPlan => {
  if (field.type === 'bytes32' || field.type === 'address') return { name: field.name, kind: field.type };
  const bits = Number(field.type.slice('uint'.length));
  return { name: field.name, kind: 'uint', bits, max: 2n ** BigInt(bits) - 1n };
});

// Hex digit values by char code (-1: not a hex digit), to decode straight into the buffer in one pass.
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 16; c++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(c)] = c;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(c)] = c;
}
const TYPEHASH_BYTES = hexToBytes(RECEIPT_TYPEHASH);

// Reused by every call: hashing is synchronous, so no two calls ever share them at the same time.
const structWords = new Uint8Array(32 * (1 + PLAN.length));
const structView = new DataView(structWords.buffer);
structWords.set(TYPEHASH_BYTES, 0);
const digestInput = new Uint8Array(2 + 32 + 32);
digestInput[0] = 0x19;
digestInput[1] = 0x01;

/** The receipt's EIP-712 struct hash as bytes. */
function structHashBytes(receipt: Receipt): Uint8Array {
  for (let i = 0; i < PLAN.length; i++) {
    writeField(PLAN[i] as FieldPlan, receipt[(PLAN[i] as FieldPlan).name], 32 * (i + 1));
  }
  return keccak256Bytes(structWords);
}

function writeField(plan: FieldPlan, value: unknown, offset: number): void {
  switch (plan.kind) {
    case 'bytes32':
      if (typeof value !== 'string' || !writeHex(value, 32, offset)) {
        throw new ReceiptEncodingError(plan.name, 'is not bytes32 (0x and 64 hex digits)');
      }
      return;
    case 'address':
      // Strict as viem: lower case, or mixed case only with a valid EIP-55 checksum.
      if (typeof value !== 'string' || !isAddress(value)) {
        throw new ReceiptEncodingError(plan.name, 'is not an address (or its EIP-55 checksum is wrong)');
      }
      structWords.fill(0, offset, offset + 12);
      writeHex(value, 20, offset + 12);
      return;
    case 'uint':
      writeUint(plan, value, offset);
  }
}

/** Decodes `0x` + exactly 2×`bytes` hex digits into the struct buffer at `offset`; false if it is not that. */
function writeHex(hex: string, bytes: number, offset: number): boolean {
  if (hex.length !== 2 + 2 * bytes || hex.charCodeAt(0) !== 48 || hex.charCodeAt(1) !== 120) return false;
  for (let i = 0; i < bytes; i++) {
    const high = HEX_VALUE[hex.charCodeAt(2 + 2 * i)] ?? -1;
    const low = HEX_VALUE[hex.charCodeAt(3 + 2 * i)] ?? -1;
    if (high < 0 || low < 0) return false;
    structWords[offset + i] = (high << 4) | low;
  }
  return true;
}

function writeUint(plan: Extract<FieldPlan, { kind: 'uint' }>, value: unknown, offset: number): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || (plan.bits < 53 && value > Number(plan.max))) {
      throw new ReceiptEncodingError(plan.name, `${value} is not a uint${plan.bits}`);
    }
    structWords.fill(0, offset, offset + 24);
    structView.setUint32(offset + 24, Math.floor(value / 2 ** 32));
    structView.setUint32(offset + 28, value >>> 0);
    return;
  }
  if (typeof value !== 'bigint' || value < 0n || value > plan.max) {
    throw new ReceiptEncodingError(plan.name, `${String(value)} is not a uint${plan.bits}`);
  }
  // Big-endian, as four 64-bit words (most significant first).
  structView.setBigUint64(offset, BigInt.asUintN(64, value >> 192n));
  structView.setBigUint64(offset + 8, BigInt.asUintN(64, value >> 128n));
  structView.setBigUint64(offset + 16, BigInt.asUintN(64, value >> 64n));
  structView.setBigUint64(offset + 24, BigInt.asUintN(64, value));
}

// EIP-712's domain struct with the fields eip712Domain fills, in the standard's order.
const DOMAIN_TYPEHASH = keccak256(
  toBytes('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'),
);
const NAME_HASH = keccak256(toBytes(EIP712_NAME));
const VERSION_HASH = keccak256(toBytes(EIP712_VERSION));
const DOMAIN_FIELDS = parseAbiParameters('bytes32, bytes32, bytes32, uint256, address');

// Few domains ever exist (one per chain and Settlement contract); the cap only bounds a misuse.
const MAX_MEMOISED_DOMAINS = 64;
const separators = new Map<string, Uint8Array>();

function domainSeparatorBytes(domain: ProtocolDomain): Uint8Array {
  // The exact strings as key: a wrongly checksummed address must fail, not hit a valid one's entry.
  const key = `${domain.chainId}|${domain.verifyingContract}`;
  let separator = separators.get(key);
  if (separator === undefined) {
    try {
      separator = keccak256(
        encodeAbiParameters(DOMAIN_FIELDS, [
          DOMAIN_TYPEHASH,
          NAME_HASH,
          VERSION_HASH,
          BigInt(domain.chainId),
          domain.verifyingContract,
        ]),
        'bytes',
      );
    } catch (error) {
      throw new ReceiptEncodingError(
        'domain',
        'is not a valid EIP-712 domain (chainId, verifyingContract)',
        error,
      );
    }
    if (separators.size >= MAX_MEMOISED_DOMAINS) separators.clear();
    separators.set(key, separator);
  }
  return separator;
}

/** The EIP-712 domain separator of receipts in `domain` (memoised per chain id and contract). */
export function receiptDomainSeparator(domain: ProtocolDomain): Hex {
  return bytesToHex(domainSeparatorBytes(domain));
}

/** The EIP-712 struct hash (no domain): the leaf of a settlement batch's Merkle tree. */
export function receiptStructHash(receipt: Receipt): Hex {
  return bytesToHex(structHashBytes(receipt));
}

/** keccak256(0x1901 ‖ domain separator ‖ struct hash): what is signed. */
function digestOf(domain: ProtocolDomain, structHash: Uint8Array): Hex {
  digestInput.set(domainSeparatorBytes(domain), 2);
  digestInput.set(structHash, 34);
  return keccak256Hex(digestInput);
}

/** The EIP-712 digest of a receipt known by its struct hash (a stored receipt's `receipt_hash`). */
export function receiptDigestOfStructHash(domain: ProtocolDomain, structHash: Hex): Hex {
  return digestOf(domain, hexToBytes(structHash, { size: 32 }));
}

/** Both hashes of a receipt in one pass. Throws ReceiptEncodingError when a field does not fit its type. */
export function receiptHashes(domain: ProtocolDomain, receipt: Receipt): ReceiptHashes {
  const structHash = structHashBytes(receipt);
  return { structHash: bytesToHex(structHash), digest: digestOf(domain, structHash) };
}
