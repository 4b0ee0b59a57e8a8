// GET /v1/jobs: the caller's jobs-API jobs, newest first, in pages as OpenAI lists (`limit`, `after`,
// `has_more`, `first_id`, `last_id`). One page merges the jobs log with this router's running jobs, so a
// job shows from the moment it was accepted. Like GET /v1/jobs/:id it covers the key's credit account.
import type { FastifyInstance } from 'fastify';
import { isAddressEqual } from 'viem';
import { z } from 'zod';
import {
  API_JOB_PREFIX,
  isOlder,
  MAX_JOB_PAGE,
  newestFirst,
} from '../../../orchestration/metering/job-page.ts';
import { FatalError } from '../../../protocol/errors.ts';
import { apiIdKind } from '../../../protocol/ids.ts';
import { parseWith } from '../../../protocol/schema-errors.ts';
import { principalOf } from '../auth.ts';
import { type GatewayContext, parsedOrThrow } from '../context.ts';
import { listPage } from '../list-page.ts';
import type { JobLog } from '../ports.ts';
import { currentJob, describeJob, liveJob } from './job-description.ts';

const DEFAULT_LIMIT = 20;

const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_JOB_PAGE).default(DEFAULT_LIMIT),
  after: z.string().max(64).optional(),
});

export function jobListRoute(app: FastifyInstance, context: GatewayContext, jobs: JobLog): void {
  app.get('/v1/jobs', async (request) => {
    const principal = principalOf(request);
    const { limit, after } = parsedOrThrow(parseWith(ListQuery, request.query));
    let before: { createdAt: number; publicId: string } | undefined;
    if (after !== undefined) {
      const cursor = apiIdKind(after) === 'job' ? await currentJob(context, jobs, after) : undefined;
      // Someone else's job is refused exactly like a missing one.
      if (cursor === undefined || !isAddressEqual(cursor.payer, principal.account)) {
        throw new FatalError('invalid_request', {
          message: `after: no job ${JSON.stringify(after)} to continue from`,
          param: 'after',
        });
      }
      before = { createdAt: cursor.createdAt, publicId: after };
    }
    // One more than asked: whether a next page exists.
    const logged = await jobs.listApiJobs(principal.account, { limit: limit + 1, before });
    const byId = new Map(logged.map((job) => [job.publicId, job]));
    for (const live of context.runner.liveOf(principal.account)) {
      if (live.publicId.startsWith(API_JOB_PREFIX) && isOlder(live, before)) {
        byId.set(live.publicId, liveJob(live));
      }
    }
    const page = [...byId.values()].sort(newestFirst).slice(0, limit + 1);
    return listPage(page, limit, (job) => describeJob(context, job));
  });
}
