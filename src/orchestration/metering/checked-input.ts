// The metering API's checks of ids and addresses it is handed: a clear `invalid_request` naming the
// parameter, never a malformed value in the store.
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { FatalError } from '../../protocol/errors.ts';
import { hashReceipt, type Receipt } from '../../protocol/receipt.ts';

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** The job id in lower case; throws unless it is 32 bytes of 0x-hex. */
export function checkedJobId(jobId: Hex): Hex {
  if (typeof jobId !== 'string' || !BYTES32.test(jobId)) {
    throw new FatalError('invalid_request', { message: 'jobId must be 32 bytes of 0x-hex', param: 'jobId' });
  }
  return jobId.toLowerCase() as Hex;
}

/** The address checksummed; throws naming `name` unless it is an address. */
export function checkedAddress(value: Address, name: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new FatalError('invalid_request', { message: `${name} must be an address`, param: name });
  }
  return getAddress(value);
}

const NUMBER_FIELDS = ['inputTokens', 'outputTokens', 'startedAt', 'finishedAt'] as const;
const BIGINT_FIELDS = ['computeUnits', 'price'] as const;

/**
 * The receipt's EIP-712 struct hash, which also checks that every field fits its type (what the journal
 * and the chain need); `given`, the hash the caller computed, must be that one. Throws `invalid_request`
 * ("malformed receipt: …"). Cheaper than the zod schema, on the per-job path.
 */
export function checkedReceiptHash(receipt: Receipt, given: Hex | undefined): Hex {
  if (typeof receipt !== 'object' || receipt === null) throw malformedReceipt('not an object');
  for (const field of NUMBER_FIELDS) {
    if (typeof receipt[field] !== 'number') throw malformedReceipt(`${field} is not a number`);
  }
  for (const field of BIGINT_FIELDS) {
    if (typeof receipt[field] !== 'bigint') throw malformedReceipt(`${field} is not a bigint`);
  }
  if (receipt.startedAt > receipt.finishedAt) throw malformedReceipt('finishedAt precedes startedAt');
  let hash: Hex;
  try {
    hash = hashReceipt(receipt);
  } catch (error) {
    throw malformedReceipt(error instanceof Error ? error.message : String(error));
  }
  if (given !== undefined && (typeof given !== 'string' || given.toLowerCase() !== hash)) {
    throw malformedReceipt("receiptHash is not the receipt's struct hash");
  }
  return hash;
}

function malformedReceipt(problem: string): FatalError {
  return new FatalError('invalid_request', { message: `malformed receipt: ${problem}`, param: 'receipt' });
}
