// A job as GET /v1/jobs/:id and GET /v1/jobs describe it, from the jobs log or this router's live view.
import { z } from 'zod';
import { ERROR_CODES, isErrorCode } from '../../../protocol/error-codes.ts';
import { JOB_STATUSES, type JobStatus, jobObject } from '../../../protocol/jobs-api.ts';
import type { GatewayContext } from '../context.ts';
import type { LoggedJob } from '../ports.ts';

/** What the jobs log keeps as a job's result; usage comes from its receipt. */
const StoredResultSchema = z.looseObject({ output: z.unknown(), attempts: z.int().min(0).optional() });

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
