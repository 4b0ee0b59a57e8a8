import { type Address, type Hex, isAddressEqual, zeroAddress } from 'viem';
import { canonicalSignature, type ProtocolDomain } from './eip712-domain.ts';
import { type NeurinoError, RetryableError } from './errors.ts';
import type { JobAssign, JobResult } from './messages/jobs.ts';
import { type Receipt, resultHash, verifyReceipt } from './receipt.ts';
import { type ReceiptHashes, receiptHashes } from './receipt-hash.ts';
import { computeUnits, priceFor } from './units.ts';

/** The metered fields of a finished attempt: a `job.result` before it is signed. */
export type Metering = Pick<
  JobResult,
  'attemptId' | 'usage' | 'gpuMs' | 'vramMiB' | 'computeUnits' | 'resultHash' | 'startedAt' | 'finishedAt'
>;

/**
 * The Receipt both sides build from the assignment and the metering: the miner signs it, the router
 * rebuilds it to check the signature and countersigns. Price = computeUnits × the assignment's price.
 */
export function receiptFor(assign: JobAssign, metering: Metering, node: Address): Receipt {
  return {
    jobId: assign.jobId,
    attemptId: assign.attemptId,
    podId: assign.podId,
    node,
    frontend: assign.frontend ?? zeroAddress,
    payer: assign.payer,
    computeUnits: metering.computeUnits,
    inputTokens: metering.usage.inputTokens,
    outputTokens: metering.usage.outputTokens,
    price: priceFor(metering.computeUnits, assign.pricePerUnit),
    resultHash: metering.resultHash,
    startedAt: metering.startedAt,
    finishedAt: metering.finishedAt,
  };
}

/**
 * An accepted result's receipt and its hashes, computed once here (the store keeps the struct hash), and
 * the node's signature in the form to store (canonicalSignature).
 */
export type CheckedResult =
  | { ok: true; receipt: Receipt; hashes: ReceiptHashes; signature: Hex }
  | { ok: false; error: NeurinoError };

/**
 * Router side: a `job.result` is accepted only when it answers this assignment, its hash commits to its
 * output, its compute units follow the formula, and the node signed the resulting receipt. A failure is
 * `bad_result`, retryable: another node may do better (and this one deserves a look).
 */
export async function checkJobResult(
  domain: ProtocolDomain,
  assign: JobAssign,
  result: JobResult,
  node: Address,
): Promise<CheckedResult> {
  const bad = (message: string) => ({
    ok: false as const,
    error: new RetryableError('bad_result', { message }),
  });
  if (result.attemptId !== assign.attemptId) return bad('result is for another attempt');
  if (result.resultHash !== resultHash(result.output)) return bad('resultHash does not match the output');
  if (result.computeUnits !== computeUnits(result.gpuMs, result.vramMiB)) {
    return bad('computeUnits do not match gpuMs × vramMiB');
  }
  const receipt = receiptFor(assign, result, node);
  let hashes: ReceiptHashes;
  try {
    hashes = receiptHashes(domain, receipt);
  } catch (error) {
    // A field out of its Solidity range (e.g. a price past uint256): nobody could have signed it.
    return bad(`receipt cannot be encoded: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (
    isAddressEqual(receipt.node, zeroAddress) ||
    !(await verifyReceipt(domain, receipt, result.signature, node, hashes.digest))
  ) {
    return bad('receipt is not signed by the node');
  }
  return { ok: true, receipt, hashes, signature: canonicalSignature(result.signature) };
}
