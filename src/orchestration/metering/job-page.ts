// How GET /v1/jobs pages through a payer's jobs: newest first, a page continuing after the last job of
// the one before. The store, the jobs still on their way to it and those running on this router are
// merged in one order, so each comparison here matches the store's `order by` (ids byte by byte).

/** Public ids of jobs made through the jobs API; chat and completion requests have their own. */
export const API_JOB_PREFIX = 'job_';

/** The most jobs one page holds. */
export const MAX_JOB_PAGE = 100;

interface Ordered {
  createdAt: number;
  publicId: string;
}

/** `limit` jobs, newest first, older than `before` when given. */
export interface JobPage {
  limit: number;
  before?: Ordered | undefined;
}

/** Whether `job` comes after `before` in a newest-first listing (everything does without `before`). */
export function isOlder(job: Ordered, before: Ordered | undefined): boolean {
  if (before === undefined) return true;
  return (
    job.createdAt < before.createdAt || (job.createdAt === before.createdAt && job.publicId < before.publicId)
  );
}

/** Newest first; at the same millisecond, the larger public id first. */
export function newestFirst(a: Ordered, b: Ordered): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.publicId < b.publicId ? 1 : a.publicId > b.publicId ? -1 : 0;
}
