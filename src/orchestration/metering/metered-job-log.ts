// The jobs log as callers read it: a job's last step may still be on its way from the router's journal
// to the store, so a job read back right after its answer comes from there, else from the store.
import { getAddress, type Hex } from 'viem';
import type { JobStatus } from '../../protocol/jobs-api.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import type { JobRecord, JobStore } from './job-store.ts';
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
  return {
    jobId: job.job_id as Hex,
    publicId: job.public_id,
    apiKeyId: job.api_key_id ?? undefined,
    payer: getAddress(job.payer),
    podId: job.pod_id as Hex,
    kind: job.kind as JobKind,
    status: job.status as JobStatus,
    request: job.request ?? undefined,
    result: job.result ?? undefined,
    error:
      job.error_code === null
        ? undefined
        : { code: job.error_code, message: job.error_message ?? job.error_code },
    attempts: job.attempts,
    createdAt: job.created_at,
    finishedAt: job.finished_at ?? undefined,
    usage:
      receipt === undefined
        ? undefined
        : {
            computeUnits: BigInt(receipt.compute_units),
            price: BigInt(receipt.charged),
            inputTokens: receipt.input_tokens,
            outputTokens: receipt.output_tokens,
          },
  };
}
