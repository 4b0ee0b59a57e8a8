// The jobs log: every job the gateway accepted, its attempts on nodes, and how it ended. Serves
// `GET /v1/jobs/:id` (with the stored result of async jobs) and dashboards.
import { type Address, getAddress, type Hex } from 'viem';
import { FatalError } from '../../protocol/errors.ts';
import type { JobStatus } from '../../protocol/jobs-api.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import {
  bigintOf,
  isUniqueViolation,
  numberOf,
  optionalNumberOf,
  optionalStringOf,
} from '../store/sql-values.ts';
import type { SqlParam, Store } from '../store/store.ts';
import type { JobPage } from './job-page.ts';
import { type AttemptStatus, type CreateJobInput, endJob, insertJob, type JobEnding } from './job-rows.ts';

export type { AttemptStatus, CreateJobInput, EndedAttempt, JobEnding } from './job-rows.ts';

export interface JobRecord {
  jobId: Hex;
  publicId: string;
  apiKeyId: string | undefined;
  payer: Address;
  podId: Hex;
  kind: JobKind;
  status: JobStatus;
  request: unknown;
  result: unknown;
  error: { code: string; message: string } | undefined;
  attempts: number;
  createdAt: number;
  finishedAt: number | undefined;
  /** From the job's receipt, once charged. */
  usage: { computeUnits: bigint; price: bigint; inputTokens: number; outputTokens: number } | undefined;
}

export interface AttemptRecord {
  attemptId: Hex;
  jobId: Hex;
  node: Address;
  status: AttemptStatus;
  errorCode: string | undefined;
  startedAt: number;
  finishedAt: number | undefined;
}

export type FinishJobInput = JobEnding & { jobId: Hex };

export class JobStore {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Records a new job, `queued`; a job id or public id used before is refused (`invalid_request`). */
  async create(input: CreateJobInput): Promise<void> {
    await insertJob(this.#store, input).catch((error: unknown) => {
      if (!isUniqueViolation(error)) throw error;
      throw new FatalError('invalid_request', {
        message: 'a job with this id already exists',
        details: { jobId: input.jobId, publicId: input.publicId },
      });
    });
  }

  /** A node took an attempt: the job is running and counts one more attempt. */
  async attemptStarted(input: { jobId: Hex; attemptId: Hex; node: Address }): Promise<void> {
    const jobId = input.jobId.toLowerCase();
    await this.#store.transaction(async (tx) => {
      const updated = await tx.query(
        `update jobs set status = 'running', attempts = attempts + 1
         where job_id = $1 and status in ('queued', 'running') returning job_id`,
        [jobId],
      );
      if (updated.length === 0) throw notFoundOrFinal(jobId);
      await tx.query(
        `insert into job_attempts (attempt_id, job_id, node, status, started_at) values ($1, $2, $3, 'running', $4)`,
        [input.attemptId.toLowerCase(), jobId, getAddress(input.node), Date.now()],
      );
    });
  }

  /** Ends an attempt; a second call for the same attempt changes nothing. */
  async attemptFinished(input: {
    attemptId: Hex;
    status: Exclude<AttemptStatus, 'running'>;
    errorCode?: string | undefined;
  }): Promise<void> {
    await this.#store.query(
      `update job_attempts set status = $2, error_code = $3, finished_at = $4
       where attempt_id = $1 and status = 'running'`,
      [input.attemptId.toLowerCase(), input.status, input.errorCode ?? null, Date.now()],
    );
  }

  /** Ends the job once (with `attempts` not logged yet); later calls leave the first outcome and answer false. */
  finish(input: FinishJobInput): Promise<boolean> {
    const { jobId, ...ending } = input;
    return endJob(this.#store, jobId, ending);
  }

  /** The job by its public id (`job_…`), with its receipt's usage; undefined when unknown. */
  async get(publicId: string): Promise<JobRecord | undefined> {
    const [row] = await this.#store.query<JobRow>(
      `select j.*, r.compute_units, r.charged, r.input_tokens, r.output_tokens
       from jobs j left join receipts r on r.job_id = j.job_id
       where j.public_id = $1`,
      [publicId],
    );
    return row === undefined ? undefined : jobOfRow(row);
  }

  /**
   * The payer's jobs-API jobs (`job_…`), newest first, at most `limit`; with `before`, only those older
   * than that one (created earlier, or at the same millisecond with a smaller public id).
   */
  async listApiJobs(payer: Address, page: JobPage): Promise<JobRecord[]> {
    const { limit, before } = page;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new FatalError('invalid_request', {
        message: 'limit must be a positive whole number',
        param: 'limit',
      });
    }
    const params: SqlParam[] = [getAddress(payer), limit];
    if (before !== undefined) params.push(before.createdAt, before.publicId);
    const older = before === undefined ? '' : 'and (j.created_at, j.public_id collate "C") < ($3, $4)';
    const rows = await this.#store.query<JobRow>(
      `select j.*, r.compute_units, r.charged, r.input_tokens, r.output_tokens
       from jobs j left join receipts r on r.job_id = j.job_id
       where j.payer = $1 and starts_with(j.public_id, 'job_') ${older}
       order by j.created_at desc, j.public_id collate "C" desc
       limit $2`,
      params,
    );
    return rows.map(jobOfRow);
  }

  /** The job's attempts: job_attempts' rows and the attempt its receipt names (metering stores no row for it). */
  async attempts(jobId: Hex): Promise<AttemptRecord[]> {
    const rows = await this.#store.query<AttemptRow>(
      `select attempt_id, job_id, node, status, error_code, started_at, finished_at
       from job_attempts where job_id = $1
       union all
       select r.attempt_id, r.job_id, r.node, 'succeeded', null, r.started_at, r.finished_at
       from receipts r
       where r.job_id = $1 and not exists (select 1 from job_attempts a where a.attempt_id = r.attempt_id)
       order by started_at, attempt_id`,
      [jobId.toLowerCase()],
    );
    return rows.map((row) => ({
      attemptId: row.attempt_id as Hex,
      jobId: row.job_id as Hex,
      node: getAddress(row.node),
      status: row.status,
      errorCode: optionalStringOf(row.error_code),
      startedAt: numberOf(row.started_at),
      finishedAt: optionalNumberOf(row.finished_at),
    }));
  }
}

/** A jobs row joined with its receipt's usage columns (null when not charged). */
export interface JobRow {
  job_id: string;
  public_id: string;
  api_key_id: string | null;
  payer: string;
  pod_id: string;
  kind: JobKind;
  status: JobStatus;
  request: unknown;
  result: unknown;
  error_code: string | null;
  error_message: string | null;
  attempts: unknown;
  created_at: unknown;
  finished_at: unknown;
  compute_units: unknown;
  charged: unknown;
  input_tokens: unknown;
  output_tokens: unknown;
}

interface AttemptRow {
  attempt_id: string;
  job_id: string;
  node: string;
  status: AttemptStatus;
  error_code: string | null;
  started_at: unknown;
  finished_at: unknown;
}

export function jobOfRow(row: JobRow): JobRecord {
  return {
    jobId: row.job_id as Hex,
    publicId: row.public_id,
    apiKeyId: optionalStringOf(row.api_key_id),
    payer: getAddress(row.payer),
    podId: row.pod_id as Hex,
    kind: row.kind,
    status: row.status,
    request: row.request ?? undefined,
    result: row.result ?? undefined,
    error:
      row.error_code === null
        ? undefined
        : { code: row.error_code, message: row.error_message ?? row.error_code },
    attempts: numberOf(row.attempts),
    createdAt: numberOf(row.created_at),
    finishedAt: optionalNumberOf(row.finished_at),
    usage:
      row.charged === null || row.charged === undefined
        ? undefined
        : {
            computeUnits: bigintOf(row.compute_units),
            price: bigintOf(row.charged),
            inputTokens: numberOf(row.input_tokens),
            outputTokens: numberOf(row.output_tokens),
          },
  };
}

function notFoundOrFinal(jobId: string): FatalError {
  return new FatalError('job_not_found', { message: `no running job ${jobId}`, details: { jobId } });
}
