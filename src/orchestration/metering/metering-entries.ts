// What the metering journal records and the store ingests: one entry per step of a job, already shaped
// as the rows it becomes (JSON-safe: wei and hashes as strings), so a batch of entries is one
// `json_to_recordset` parameter per table and a replayed journal line needs no translation.
import { getAddress, type Hex } from 'viem';
import { z } from 'zod';
import { FatalError } from '../../protocol/errors.ts';
import type { Receipt } from '../../protocol/receipt.ts';
import { storableText } from '../store/sql-values.ts';
import { type CreateJobInput, type EndedAttempt, FINAL_JOB_STATUSES, type JobEnding } from './job-rows.ts';

const JobRowSchema = z.object({
  job_id: z.string(),
  public_id: z.string(),
  api_key_id: z.string().nullable(),
  payer: z.string(),
  pod_id: z.string(),
  kind: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  request: z.unknown().optional(),
  result: z.unknown().optional(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  attempts: z.int().min(0),
  created_at: z.number(),
  finished_at: z.number().nullable(),
});

const AttemptRowSchema = z.object({
  attempt_id: z.string(),
  job_id: z.string(),
  node: z.string(),
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  error_code: z.string().nullable(),
  started_at: z.number(),
  finished_at: z.number(),
});

const Decimal = z.string().regex(/^\d+$/);

const ReceiptRowSchema = z.object({
  job_id: z.string(),
  attempt_id: z.string(),
  pod_id: z.string(),
  node: z.string(),
  frontend: z.string(),
  payer: z.string(),
  compute_units: Decimal,
  input_tokens: z.number(),
  output_tokens: z.number(),
  price: Decimal,
  result_hash: z.string(),
  started_at: z.number(),
  finished_at: z.number(),
  receipt_hash: z.string(),
  node_signature: z.string(),
  charged: Decimal,
  created_at: z.number(),
});

/** One journal line: a job opened (async jobs, so GET sees them at once) or ended (with its charge). */
export const MeteringEntrySchema = z.object({
  job: JobRowSchema,
  attempts: z.array(AttemptRowSchema),
  receipt: ReceiptRowSchema.optional(),
});

export type JobRowJson = z.infer<typeof JobRowSchema>;
export type ReceiptRowJson = z.infer<typeof ReceiptRowSchema>;
export type MeteringEntry = z.infer<typeof MeteringEntrySchema>;

/** A job as the metering keeps it while it runs: what its row needs besides how it ended. */
export type MeteredJob = Required<Omit<CreateJobInput, 'request' | 'apiKeyId'>> &
  Pick<CreateJobInput, 'request' | 'apiKeyId'> & { createdAt: number };

export interface Charge {
  receipt: Receipt;
  receiptHash: Hex;
  nodeSignature: Hex;
  charged: bigint;
}

function jobRow(job: MeteredJob, state: Pick<JobRowJson, 'status' | 'error_code' | 'error_message'>) {
  return {
    job_id: job.jobId.toLowerCase(),
    public_id: job.publicId,
    api_key_id: job.apiKeyId ?? null,
    payer: getAddress(job.payer),
    pod_id: job.podId.toLowerCase(),
    kind: job.kind,
    request: job.request,
    created_at: job.createdAt,
    ...state,
  };
}

/** The job logged before it runs (`queued`), or once its first attempt began (`running`). */
export function openedEntry(job: MeteredJob, status: 'queued' | 'running' = 'queued'): MeteringEntry {
  const row = jobRow(job, { status, error_code: null, error_message: null });
  return { job: { ...row, attempts: 0, finished_at: null }, attempts: [] };
}

/**
 * The job's end, its attempts and (succeeded) its charge: everything its last write needs. An end that is
 * not final (job or attempt) is refused here: journaled, the store and the next start would refuse it.
 */
export function endedEntry(
  job: MeteredJob,
  ending: JobEnding,
  charge?: Charge,
  now: number = Date.now(),
): MeteringEntry {
  const attempts = ending.attempts ?? [];
  for (const status of [ending.status, ...attempts.map((a) => a.status)]) {
    if (!FINAL_JOB_STATUSES.includes(status)) {
      throw new FatalError('invalid_request', { message: `not a final job or attempt status: ${status}` });
    }
  }
  const row = jobRow(job, {
    status: ending.status,
    error_code: ending.errorCode ?? null,
    error_message: storableText(ending.errorMessage) ?? null,
  });
  return {
    job: { ...row, result: ending.result, attempts: attempts.length, finished_at: now },
    attempts: attempts.map((a) => attemptRow(job.jobId, a)),
    ...(charge === undefined ? {} : { receipt: receiptRow(charge, now) }),
  };
}

function attemptRow(jobId: Hex, a: EndedAttempt): MeteringEntry['attempts'][number] {
  return {
    attempt_id: a.attemptId.toLowerCase(),
    job_id: jobId.toLowerCase(),
    node: getAddress(a.node),
    status: a.status,
    error_code: a.errorCode ?? null,
    started_at: a.startedAt,
    finished_at: a.finishedAt,
  };
}

function receiptRow(charge: Charge, createdAt: number): ReceiptRowJson {
  const r = charge.receipt;
  return {
    job_id: r.jobId.toLowerCase(),
    attempt_id: r.attemptId.toLowerCase(),
    pod_id: r.podId.toLowerCase(),
    node: getAddress(r.node),
    frontend: getAddress(r.frontend),
    payer: getAddress(r.payer),
    compute_units: r.computeUnits.toString(),
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    price: r.price.toString(),
    result_hash: r.resultHash.toLowerCase(),
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    receipt_hash: charge.receiptHash.toLowerCase(),
    node_signature: charge.nodeSignature.toLowerCase(),
    charged: charge.charged.toString(),
    created_at: createdAt,
  };
}
