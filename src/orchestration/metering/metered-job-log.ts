// The jobs log as callers read it: a job's last step may still be on its way from the router's journal
// to the store, so a job read back right after its answer comes from there, else from the store.
import type { JobKind } from '../../protocol/pod-spec.ts';
import { type JobRecord, type JobStore, jobOfRow } from './job-store.ts';
import type { MeteringEntry } from './metering-entries.ts';

export interface UnstoredJobs {
  unstored(publicId: string): MeteringEntry | undefined;
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
