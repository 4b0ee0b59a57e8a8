// What a caller hands the dispatcher and gets back: the job, its budget of retries and time, the hooks
// that follow its attempts, and the verified result. Kept apart from the dispatcher so the gateway's port
// names them without the dispatcher's machinery.
import type { Address, Hex } from 'viem';
import type { NeurinoError } from '../../protocol/errors.ts';
import type { JobResult, StreamPiece } from '../../protocol/messages/jobs.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import type { Receipt } from '../../protocol/receipt.ts';
import type { ReceiptHashes } from '../../protocol/receipt-hash.ts';

export interface DispatchJob {
  jobId: Hex;
  podId: Hex;
  kind: JobKind;
  input: unknown;
  stream: boolean;
  payer: Address;
  frontend?: Address | undefined;
  pricePerUnit: bigint;
  /**
   * What ties the job to earlier ones that began the same way (a conversation's turns,
   * protocol/prompt-affinity-key.ts): the node that served the last of them goes first within its tier.
   */
  affinity?: string | undefined;
}

export interface DispatchBudget {
  /** Attempts after the first one. */
  maxRetries: number;
  /** Milliseconds since the epoch; nothing runs past it. */
  deadlineAt: number;
}

export interface AttemptInfo {
  attemptId: Hex;
  node: Address;
}

export interface DispatchHooks {
  /** A streamed piece of output: its choice, and its tokens' log probabilities when the job asked. */
  onChunk?(piece: StreamPiece): void;
  onAttempt?(attempt: AttemptInfo): void;
  onAttemptEnd?(attempt: AttemptInfo & { error?: NeurinoError }): void;
  /**
   * Aborting (the caller went away) cancels the running attempt and rejects with `job_cancelled`; as
   * CancelledAfterWork, with the node's verified result, when the node handed over the work done.
   */
  signal?: AbortSignal;
}

export interface DispatchResult {
  attemptId: Hex;
  node: Address;
  result: JobResult;
  /** Built from the assignment and the result, and signed by `node` (checked). */
  receipt: Receipt;
  /** The receipt's struct hash (its settlement Merkle leaf) and signed digest, computed once per job. */
  receiptHashes: ReceiptHashes;
  attempts: number;
}
