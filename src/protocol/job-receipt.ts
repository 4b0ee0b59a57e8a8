import { type Address, type Hex, isAddressEqual, zeroAddress } from 'viem';
import { canonicalSignature, type ProtocolDomain } from './eip712-domain.ts';
import { type NeurinoError, RetryableError } from './errors.ts';
import type { JobAssign, JobResult } from './messages/jobs.ts';
import type { Capabilities } from './messages/node-state.ts';
import { podMemoryMiB } from './pod-memory.ts';
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
 * rebuilds it to check the signature (and attests it when storing it). Price = computeUnits × the
 * assignment's price.
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

/** What the router saw of an attempt: the node's metering may not claim more. */
export interface AttemptObservation {
  /** From sending the assignment to receiving the result, on the router's monotonic clock. */
  elapsedMs: number;
  /** The most memory a pod can hold on the node, as it announced (podMemoryMiB of its capabilities). */
  memoryMiB: number;
}

/**
 * What a router observed of an attempt it sent at `sentAt` and heard the result of at `now` (both
 * performance.now()), from the node that announced `capabilities` (none announced: no memory to meter).
 */
export function observedAttempt(
  sentAt: number,
  now: number,
  capabilities: Pick<Capabilities, 'gpus' | 'ramMiB'> | undefined,
): AttemptObservation {
  return { elapsedMs: now - sentAt, memoryMiB: capabilities === undefined ? 0 : podMemoryMiB(capabilities) };
}

/** Clocks of two machines may run apart by this rate (NTP slews by at most 500 ppm). */
const CLOCK_RATE_TOLERANCE = 0.001;

/**
 * The most GPU milliseconds a node may meter for an attempt the router saw take `elapsedMs`. The node's
 * timing starts after the assignment reached it and ends before its result left, so it lies inside the
 * router's; 1 ms more covers both sides rounding up to whole milliseconds.
 */
export function maxMeteredGpuMs(elapsedMs: number): number {
  return Math.ceil(elapsedMs * (1 + CLOCK_RATE_TOLERANCE)) + 1;
}

/**
 * Router side: a `job.result` is accepted only when it answers this assignment, its hash commits to its
 * output, its compute units follow the formula from no more GPU time than the router saw the attempt
 * take and no more memory than the node has, and the node signed the resulting receipt. A failure is
 * `bad_result`, retryable: another node may do better (and this one deserves a look).
 */
export async function checkJobResult(
  domain: ProtocolDomain,
  assign: JobAssign,
  result: JobResult,
  node: Address,
  observed: AttemptObservation,
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
  // The price follows the node's metering: bounded by what the router saw, a node cannot charge the caller
  // for time it did not spend or memory it does not have (the hold caps it in any case).
  const maxGpuMs = maxMeteredGpuMs(observed.elapsedMs);
  if (result.gpuMs > maxGpuMs) {
    return bad(
      `gpuMs ${result.gpuMs} is more than the attempt took (at most ${maxGpuMs} ms as the router saw it)`,
    );
  }
  if (result.vramMiB > observed.memoryMiB) {
    return bad(`vramMiB ${result.vramMiB} is more than the node's ${observed.memoryMiB} MiB`);
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
