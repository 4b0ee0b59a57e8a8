// POST /v1/jobs/:id/cancel: the caller stops one of its jobs running on this router, as OpenAI's cancels
// do, and gets the job back as it ended: cancelled, free, or charged for the work the node had done (as
// when a caller walks away). Cancelling a cancelled job answers it again; a job that ended otherwise, or
// one another router runs, answers 409 `job_not_cancellable`.
import type { FastifyInstance } from 'fastify';
import { isAddressEqual } from 'viem';
import { FatalError } from '../../../protocol/errors.ts';
import { apiIdKind } from '../../../protocol/ids.ts';
import { principalOf } from '../auth.ts';
import type { GatewayContext } from '../context.ts';
import type { JobLog } from '../ports.ts';
import { describeJob, jobNotFound } from './job-description.ts';

export function jobCancelRoute(app: FastifyInstance, context: GatewayContext, jobs: JobLog): void {
  app.post<{ Params: { id: string } }>('/v1/jobs/:id/cancel', async (request) => {
    const principal = principalOf(request);
    const { id } = request.params;
    if (apiIdKind(id) !== 'job') throw jobNotFound(id);
    const stopped = await context.runner.cancel(id, principal.account);
    const job = await jobs.get(id);
    // Someone else's job is answered exactly like a missing one.
    if (job === undefined || !isAddressEqual(job.payer, principal.account)) throw jobNotFound(id);
    if (stopped || job.status === 'cancelled') return describeJob(context, job);
    throw new FatalError('job_not_cancellable', {
      message:
        job.status === 'queued' || job.status === 'running'
          ? `Job ${id} runs on another router of this gateway; it stops at its deadline`
          : `Job ${id} already ${job.status}`,
      param: 'id',
    });
  });
}
