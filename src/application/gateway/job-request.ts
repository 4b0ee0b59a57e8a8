// A job as the gateway's routes hand it to the JobRunner, and what they get back: its run once charged,
// and, while it runs, what GET /v1/jobs/:id tells of it.
import type { Address, Hex } from 'viem';
import type { JobResult, StreamPiece } from '../../protocol/messages/jobs.ts';
import type { TokenUsage } from '../../protocol/openai-responses.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import type { JobBudget } from './budget.ts';
import type { CatalogEntry, DispatchOutcome, Principal } from './ports.ts';

export interface JobRequest {
  principal: Principal;
  entry: CatalogEntry;
  kind: JobKind;
  input: unknown;
  stream: boolean;
  budget: JobBudget;
  publicId: string;
  signal?: AbortSignal;
  onChunk?(piece: StreamPiece): void;
  /** The job's first attempt began on a node (it left the queue). */
  onStarted?(): void;
  /** Checks the output before anything is charged; throws (bad_result) to fail the job for free. */
  check?(result: JobResult): void;
  /** What the jobs log keeps as the result (read back by GET /v1/jobs/:id). */
  keep?(run: Omit<JobRun, 'publicId'>): unknown;
  /** The caller answers before the job ends (async): log it at once so any router can read it back. */
  logNow?: boolean;
  /** When the job was accepted, as told to the caller (default: now). */
  createdAt?: number;
  /** Its caller may stop it by id (`cancel`), as the jobs API allows. */
  cancellable?: boolean;
}

/** A job of this router still running, as GET /v1/jobs/:id tells it. */
export interface LiveJob {
  publicId: string;
  payer: Address;
  podId: Hex;
  status: 'queued' | 'running';
  createdAt: number;
  attempts: number;
}

export interface JobRun {
  jobId: Hex;
  publicId: string;
  outcome: DispatchOutcome;
  charged: bigint;
  /**
   * The tokens to answer with: the receipt's counts, and for chat and completions, of the input those a
   * node's prompt cache held, as its output says.
   */
  usage: TokenUsage;
}

export interface StartedJob {
  jobId: Hex;
  /** Settles when the job is charged (or rejects once it has been released). */
  done: Promise<JobRun>;
}
