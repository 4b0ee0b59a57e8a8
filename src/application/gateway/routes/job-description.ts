// A job as the jobs routes find and describe it: from this router's live view while it runs here, else
// from the jobs log.
import { z } from 'zod';
import { ERROR_CODES, isErrorCode } from '../../../protocol/error-codes.ts';
import { FatalError } from '../../../protocol/errors.ts';
import { JOB_STATUSES, type JobStatus, jobObject } from '../../../protocol/jobs-api.ts';
import type { GatewayContext } from '../context.ts';
import type { JobLog, LoggedJob } from '../ports.ts';

/** What the jobs log keeps as a job's result; usage comes from its receipt. */
const StoredResultSchema = z.looseObject({ output: z.unknown(), attempts: z.int().min(0).optional() });

/** A job still running here is told from the runner (the log has its attempts only at its end). */
export async function currentJob(
  context: GatewayContext,
  jobs: JobLog,
  publicId: string,
): Promise<LoggedJob | undefined> {
  const live = context.runner.progress(publicId);
  return live === undefined ? jobs.get(publicId) : liveJob(live);
}

/** A running job as the log's shape has it: no result, error or usage yet. */
export function liveJob(live: Omit<LoggedJob, 'result' | 'error' | 'usage'>): LoggedJob {
  return { ...live, result: undefined, error: undefined, usage: undefined };
}

export function jobNotFound(id: string) {
  return new FatalError('job_not_found', {
    message: `No job ${JSON.stringify(id.slice(0, 64))}`,
    param: 'id',
  });
}

export function describeJob(context: GatewayContext, job: LoggedJob) {
  const stored = StoredResultSchema.safeParse(job.result);
  const result = stored.success ? stored.data : undefined;
  return jobObject({
    id: job.publicId,
    pod: context.catalog.byId(job.podId)?.spec.name ?? job.podId,
    status: jobStatus(job.status),
    createdAt: job.createdAt,
    attempts: Math.max(job.attempts, result?.attempts ?? 0),
    ...(result === undefined ? {} : { output: result.output }),
    ...(job.error === undefined ? {} : { error: publicError(job.error.code) }),
    ...(job.usage === undefined ? {} : { usage: job.usage }),
  });
}

/** The registry's message for a code, never a stored free-text message that may hold internals. */
function publicError(code: string) {
  return { code, message: isErrorCode(code) ? ERROR_CODES[code].message : 'Job failed' };
}

function jobStatus(status: string): JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(status) ? (status as JobStatus) : 'running';
}
