// `Idempotency-Key` on POST /v1/jobs: a request retried after its answer was lost (a dropped connection,
// a timeout) finds the job its first try made, on any router sharing the store, rather than running and
// paying for another. The first try's job runs to its end even if its caller goes away (so a retry can
// read its result) and is logged at once; a job that ended free (failed, refused) frees the key, so a
// retry runs anew. The same key with another body is 409 `idempotency_key_reused`; a retry that meets
// its first try still running elsewhere is 409 `request_in_progress` (retryable).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Address } from 'viem';
import { isErrorCode } from '../../../protocol/error-codes.ts';
import { createError, FatalError, RetryableError } from '../../../protocol/errors.ts';
import { JOB_ID_HEADER } from '../../../protocol/jobs-api.ts';
import type { GatewayContext } from '../context.ts';
import type { IdempotencyClaims, JobLog } from '../ports.ts';
import { currentJob, describeJob } from './job-description.ts';

const HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
/** A claim whose job was never logged this long after it was made was left by a crashed router. */
const ABANDONED_AFTER_MS = 5 * 60_000;

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
): Promise<{ answer: unknown } | undefined> {
  const held = await idempotency.claim(claim);
  if (held.claimed) return undefined;
  if (!held.sameRequest) {
    throw new FatalError('idempotency_key_reused', {
      message: `Idempotency-Key was used with another request (job ${held.publicId}): use a new key`,
      param: HEADER,
    });
  }
  const replay = await replayJob(context, jobs, held, claim.mode, reply);
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
 * stands (202, async); a sync retry waits for a job still running on this router.
 */
async function replayJob(
  context: GatewayContext,
  jobs: JobLog,
  claim: { publicId: string; claimedAt: number },
  mode: 'sync' | 'async',
  reply: FastifyReply,
): Promise<Replay> {
  const { publicId } = claim;
  reply.header(JOB_ID_HEADER, publicId);
  if (mode === 'sync') await context.runner.whenEnded(publicId);
  const job = await currentJob(context, jobs, publicId);
  if (job === undefined) {
    if (Date.now() - claim.claimedAt > ABANDONED_AFTER_MS) return { abandoned: true };
    throw inProgress(publicId);
  }
  const ended = job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled';
  if (mode === 'async') {
    reply.code(202);
    return { answer: describeJob(context, job) };
  }
  if (!ended) throw inProgress(publicId);
  if (job.status === 'failed' || (job.status === 'cancelled' && job.usage === undefined)) {
    const code = job.error?.code ?? 'job_cancelled';
    throw isErrorCode(code) ? createError(code) : new FatalError('internal_error');
  }
  return { answer: describeJob(context, job) };
}

function inProgress(publicId: string) {
  return new RetryableError('request_in_progress', {
    message: `The first request with this Idempotency-Key (job ${publicId}) is still running: retry shortly`,
    retryAfterSeconds: 1,
  });
}
