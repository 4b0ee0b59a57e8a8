import { z } from 'zod';
import { JsonValueSchema } from './scalars.ts';
import { parseWith, type Result } from './schema-errors.ts';

/** The response header naming a request's job (`job_…`) where the body has no id: its receipt's key. */
export const JOB_ID_HEADER = 'x-neurino-job-id';

/** Upper bounds the gateway enforces whatever the caller asks. */
export const MAX_JOB_RETRIES = 10;
export const MAX_JOB_TIMEOUT_MS = 3_600_000;

/**
 * `POST /v1/jobs`: run any pod. `pod` is a pod name or its 0x id; `sync` answers when the job ends,
 * `async` answers at once with the job object to poll (`GET /v1/jobs/:id`). Other fields are refused, not
 * dropped: a caller who writes `async: true` for `mode: 'async'` would otherwise wait without knowing why.
 */
const JOB_REQUEST_FIELDS = {
  pod: z.string().min(1).max(130),
  input: JsonValueSchema,
  mode: z.enum(['sync', 'async']).default('sync'),
  max_retries: z.int().min(0).max(MAX_JOB_RETRIES).optional(),
  timeout_ms: z.int().min(1).max(MAX_JOB_TIMEOUT_MS).optional(),
};

export const JobRequestSchema = z.strictObject(JOB_REQUEST_FIELDS, {
  error: (issue) =>
    issue.code === 'unrecognized_keys'
      ? `the fields are ${Object.keys(JOB_REQUEST_FIELDS).join(', ')}`
      : undefined,
});

export type JobRequest = z.output<typeof JobRequestSchema>;

export function parseJobRequest(body: unknown): Result<JobRequest> {
  return parseWith(JobRequestSchema, body);
}

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** What the jobs API answers, in the OpenAI style (`object`, unix-seconds `created`). */
export interface JobObject {
  id: string;
  object: 'job';
  pod: string;
  status: JobStatus;
  created: number;
  attempts: number;
  output?: unknown;
  error?: { code: string; message: string };
  usage?: { compute_units: string; price_wei: string; input_tokens: number; output_tokens: number };
}

export function jobObject(p: {
  id: string;
  pod: string;
  status: JobStatus;
  createdAt: number;
  attempts: number;
  output?: unknown;
  error?: { code: string; message: string };
  usage?: { computeUnits: bigint; price: bigint; inputTokens: number; outputTokens: number };
}): JobObject {
  return {
    id: p.id,
    object: 'job',
    pod: p.pod,
    status: p.status,
    created: Math.floor(p.createdAt / 1000),
    attempts: p.attempts,
    ...(p.output === undefined ? {} : { output: p.output }),
    ...(p.error === undefined ? {} : { error: p.error }),
    ...(p.usage === undefined
      ? {}
      : {
          usage: {
            compute_units: p.usage.computeUnits.toString(),
            price_wei: p.usage.price.toString(),
            input_tokens: p.usage.inputTokens,
            output_tokens: p.usage.outputTokens,
          },
        }),
  };
}
