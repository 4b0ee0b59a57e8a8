// The jobs log as callers read it: a job's last step may still be on its way from the router's journal
// to the store, so a job read back right after its answer comes from there, else from the store.

import type { Address } from 'viem';
import type { JobKind } from '../../protocol/pod-spec.ts';
import { API_JOB_PREFIX, isOlder, type JobPage, newestFirst } from './job-page.ts';
import { FINAL_JOB_STATUSES } from './job-rows.ts';
import { type JobRecord, type JobStore, jobOfRow } from './job-store.ts';
import type { MeteringEntry } from './metering-entries.ts';

export interface UnstoredJobs {
  unstored(publicId: string): MeteringEntry | undefined;
  unstoredOf(payer: Address): MeteringEntry[];
}

export class MeteredJobLog {
  constructor(
    private readonly metering: UnstoredJobs,
    private readonly store: JobStore,
  ) {}

  async get(publicId: string): Promise<JobRecord | undefined> {
    const entry = this.metering.unstored(publicId);
    return entry === undefined ? this.store.get(publicId) : jobOfEntry(entry);
  }

  /**
   * The payer's jobs-API jobs, newest first: the store's page with the steps still on their way to it.
   * Those are read first: a step stored meanwhile is then in the store's answer rather than in neither.
   */
  async listApiJobs(payer: Address, page: JobPage): Promise<JobRecord[]> {
    const unstored = this.metering
      .unstoredOf(payer)
      .map(jobOfEntry)
      .filter((job) => job.publicId.startsWith(API_JOB_PREFIX) && isOlder(job, page.before));
    const byId = new Map((await this.store.listApiJobs(payer, page)).map((job) => [job.publicId, job]));
    for (const job of unstored) {
      const stored = byId.get(job.publicId);
      if (stored === undefined || !isFinal(stored.status) || isFinal(job.status)) byId.set(job.publicId, job);
    }
    return [...byId.values()].sort(newestFirst).slice(0, page.limit);
  }
}

/** A job's ending is its last step: nothing read earlier supersedes it. */
function isFinal(status: string): boolean {
  return FINAL_JOB_STATUSES.includes(status);
}

function jobOfEntry({ job, receipt }: MeteringEntry): JobRecord {
  return jobOfRow({
    ...job,
    request: job.request ?? null,
    result: job.result ?? null,
    kind: job.kind as JobKind,
    compute_units: receipt?.compute_units ?? null,
    charged: receipt?.charged ?? null,
    input_tokens: receipt?.input_tokens ?? null,
    output_tokens: receipt?.output_tokens ?? null,
  });
}
