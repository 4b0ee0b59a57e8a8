// `Idempotency-Key` on POST /v1/jobs: a request retried after its answer was lost (a dropped connection,
// a timeout) finds the job its first try made, on any router sharing the store, rather than running and
// paying for another. The first try's job runs to its end even if its caller goes away (so a retry can
// read its result) and is logged at once; a job that ended free (failed, refused) frees the key, so a
// retry runs anew. The same key with another body is 409 `idempotency_key_reused`. A sync retry waits for
// its first try's job to end, on this router or (read from the store) on another, within its own budget;
// past it, or while the first try has not logged its job yet, it is 409 `request_in_progress` (retryable).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Address } from 'viem';
import { FINAL_JOB_STATUSES } from '../../../orchestration/metering/job-rows.ts';
import { isErrorCode } from '../../../protocol/error-codes.ts';
import { createError, FatalError, RetryableError } from '../../../protocol/errors.ts';
import { JOB_ID_HEADER } from '../../../protocol/jobs-api.ts';
import type { GatewayContext } from '../context.ts';
import type { IdempotencyClaims, JobLog, LoggedJob } from '../ports.ts';
import { currentJob, describeJob } from './job-description.ts';

const HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
/** A claim whose job was never logged this long after it was made was left by a crashed router. */
const ABANDONED_AFTER_MS = 5 * 60_000;
/** How often a sync retry reads the store for the end of a job another router runs. */
const POLL_MS = 250;

/** How long a sync retry may wait for its first try's job: until its own deadline, or its caller leaves. */
export interface ReplayWait {
  deadlineAt: number;
  signal: AbortSignal;
}

/** The request's Idempotency-Key, checked; undefined without one. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers[HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY_PATTERN.test(value)) {
    throw new FatalError('invalid_request', {
      message: 'Idempotency-Key must be 1 to 255 printable ASCII characters, sent once',
      param: HEADER,
    });
  }
  return value;
}

/**
 * Claims the request's key for its job, or answers as the job the key names: undefined when this request
 * runs the job. The same key with another body is refused.
 */
export async function claimOrReplay(
  context: GatewayContext,
  jobs: JobLog,
  idempotency: IdempotencyClaims,
  claim: { payer: Address; key: string; request: unknown; publicId: string; mode: 'sync' | 'async' },
  reply: FastifyReply,
  wait: ReplayWait,
): Promise<{ answer: unknown } | undefined> {
  const held = await idempotency.claim(claim);
  if (held.claimed) return undefined;
  if (!held.sameRequest) {
    throw new FatalError('idempotency_key_reused', {
      message: `Idempotency-Key was used with another request (job ${held.publicId}): use a new key`,
      param: HEADER,
    });
  }
  const replay = await replayJob(context, jobs, held, claim.mode, reply, wait);
  if ('answer' in replay) return replay;
  // Left by a router that crashed before the job was logged: this request runs it.
  await idempotency.forget({ payer: claim.payer, key: claim.key, publicId: held.publicId });
  reply.header(JOB_ID_HEADER, claim.publicId);
  if ((await idempotency.claim(claim)).claimed) return undefined;
  throw inProgress(held.publicId);
}

type Replay = { answer: unknown } | { abandoned: true };

/**
 * The answer to a retried request whose key names `publicId`: the job as it ended (200), or as it
 * stands (202, async); a sync retry waits for the job's end, wherever it runs.
 */
async function replayJob(
  context: GatewayContext,
  jobs: JobLog,
  claim: { publicId: string; claimedAt: number },
  mode: 'sync' | 'async',
  reply: FastifyReply,
  wait: ReplayWait,
): Promise<Replay> {
  const { publicId } = claim;
  reply.header(JOB_ID_HEADER, publicId);
  const job =
    mode === 'sync' ? await endOf(context, jobs, claim, wait) : await currentJob(context, jobs, publicId);
  if (job === undefined) {
    if (abandoned(claim)) return { abandoned: true };
    throw inProgress(publicId);
  }
  if (mode === 'async') {
    reply.code(202);
    return { answer: describeJob(context, job) };
  }
  if (!hasEnded(job)) throw inProgress(publicId);
  if (job.status === 'failed' || (job.status === 'cancelled' && job.usage === undefined)) {
    const code = job.error?.code ?? 'job_cancelled';
    throw isErrorCode(code) ? createError(code) : new FatalError('internal_error');
  }
  return { answer: describeJob(context, job) };
}

function hasEnded(job: LoggedJob): boolean {
  return FINAL_JOB_STATUSES.includes(job.status);
}

/**
 * The job once it has ended: on this router, when it ends here; run by another, when the store says so
 * (read every POLL_MS), waiting too for a first try that has not logged its job yet. Earlier, as it
 * stands, when the wait's deadline passes or its caller goes away; at once for an abandoned claim.
 */
async function endOf(
  context: GatewayContext,
  jobs: JobLog,
  claim: { publicId: string; claimedAt: number },
  wait: ReplayWait,
): Promise<LoggedJob | undefined> {
  for (;;) {
    await context.runner.whenEnded(claim.publicId);
    const job = await currentJob(context, jobs, claim.publicId);
    if (job === undefined ? abandoned(claim) : hasEnded(job)) return job;
    const left = wait.deadlineAt - Date.now();
    if (left <= 0 || wait.signal.aborted) return job;
    await pause(Math.min(POLL_MS, left), wait.signal);
  }
}

function abandoned(claim: { claimedAt: number }): boolean {
  return Date.now() - claim.claimedAt > ABANDONED_AFTER_MS;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

function inProgress(publicId: string) {
  return new RetryableError('request_in_progress', {
    message: `The first request with this Idempotency-Key (job ${publicId}) is still running: retry shortly`,
    retryAfterSeconds: 1,
  });
}
