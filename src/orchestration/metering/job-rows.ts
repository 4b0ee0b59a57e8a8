// The jobs log's direct writes as SQL on any Queryable (JobStore's create and finish); metering writes jobs
// in batches through metering-ingest.ts instead.
import { type Address, getAddress, type Hex } from 'viem';
import { FatalError } from '../../protocol/errors.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import { storableText } from '../store/sql-values.ts';
import type { Queryable, SqlParam } from '../store/store.ts';

export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface CreateJobInput {
  jobId: Hex;
  publicId: string;
  apiKeyId?: string | undefined;
  payer: Address;
  podId: Hex;
  kind: JobKind;
  /** Stored for async jobs and audits; keep it JSON. */
  request?: unknown;
}

/** An attempt kept in memory while the job ran, written with the job's end. */
export interface EndedAttempt {
  attemptId: Hex;
  node: Address;
  status: Exclude<AttemptStatus, 'running'>;
  errorCode?: string | undefined;
  startedAt: number;
  finishedAt: number;
}

export interface JobEnding {
  status: 'succeeded' | 'failed' | 'cancelled';
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  result?: unknown;
  /** Attempts not logged one by one (attemptStarted): stored now and counted in the job's attempts. */
  attempts?: readonly EndedAttempt[] | undefined;
}

export const FINAL_JOB_STATUSES: readonly string[] = ['succeeded', 'failed', 'cancelled'];

/** `insert into jobs` with its 10 parameters numbered from `$first` (so it can join a larger statement). */
function jobInsertSql(first: number): string {
  const at = (i: number) => `$${first + i}`;
  return `insert into jobs (job_id, public_id, api_key_id, payer, pod_id, kind, status, request, error_code,
    error_message, created_at, finished_at)
    values (${at(0)}, ${at(1)}, ${at(2)}, ${at(3)}, ${at(4)}, ${at(5)}, ${at(6)}, ${at(7)}::json, ${at(8)},
      ${at(9)}, ${at(10)}, ${at(11)})`;
}

/** The job `queued`, or already ended by `refusal` (e.g. no credits): then never run. */
function jobInsertParams(input: CreateJobInput, refusal?: { code: string; message: string }): SqlParam[] {
  const now = Date.now();
  return [
    input.jobId.toLowerCase(),
    input.publicId,
    input.apiKeyId ?? null,
    getAddress(input.payer),
    input.podId.toLowerCase(),
    input.kind,
    refusal === undefined ? 'queued' : 'failed',
    jsonParam(input.request),
    refusal?.code ?? null,
    storableText(refusal?.message) ?? null,
    now,
    refusal === undefined ? null : now,
  ];
}

export async function insertJob(
  db: Queryable,
  input: CreateJobInput,
  refusal?: { code: string; message: string },
): Promise<void> {
  await db.query(jobInsertSql(1), jobInsertParams(input, refusal));
}

/**
 * Common table expressions `ended` (the job's row, once: only from queued or running) and `logged` (its
 * attempts, only if it ended here), parameters numbered from `$first`; `ended` returns job_id.
 */
function jobEndCtes(first: number): string {
  const at = (i: number) => `$${first + i}`;
  return `ended as (
       update jobs set status = ${at(1)}, error_code = ${at(2)}, error_message = ${at(3)}, result = ${at(4)}::json,
         finished_at = ${at(5)}, attempts = attempts + ${at(6)}
       where job_id = ${at(0)} and status in ('queued', 'running') returning job_id),
     logged as (
       insert into job_attempts (attempt_id, job_id, node, status, error_code, started_at, finished_at)
       select a.attempt_id, ended.job_id, a.node, a.status, a.error_code, a.started_at, a.finished_at
       from ended cross join jsonb_to_recordset(${at(7)}::jsonb) as a(
         attempt_id text, node text, status text, error_code text, started_at bigint, finished_at bigint))`;
}

function jobEndParams(jobId: Hex, ending: JobEnding): SqlParam[] {
  if (!FINAL_JOB_STATUSES.includes(ending.status)) {
    throw new FatalError('invalid_request', { message: `not a final job status: ${ending.status}` });
  }
  const attempts = ending.attempts ?? [];
  return [
    jobId.toLowerCase(),
    ending.status,
    ending.errorCode ?? null,
    storableText(ending.errorMessage) ?? null,
    jsonParam(ending.result),
    Date.now(),
    attempts.length,
    JSON.stringify(
      attempts.map((a) => ({
        attempt_id: a.attemptId.toLowerCase(),
        node: getAddress(a.node),
        status: a.status,
        error_code: a.errorCode ?? null,
        started_at: a.startedAt,
        finished_at: a.finishedAt,
      })),
    ),
  ];
}

/**
 * Ends the job once, with its attempts, in one statement; a job already ended keeps its first outcome
 * (and no attempts are added): answers false.
 */
export async function endJob(db: Queryable, jobId: Hex, ending: JobEnding): Promise<boolean> {
  const params = jobEndParams(jobId, ending);
  const rows = await db.query(`with ${jobEndCtes(1)} select job_id from ended`, params);
  return rows.length > 0;
}

/** JSON text for a json parameter (node-postgres would turn a JS array into a PostgreSQL array). */
function jsonParam(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
