// The generic jobs API: POST /v1/jobs runs any pod (sync: answers when it ends; async: 202 at once) and
// GET /v1/jobs/:id reads a job back, including an async job's result; GET /v1/jobs lists them
// (job-list.ts) and POST /v1/jobs/:id/cancel stops one (job-cancel.ts). Callers see only their own jobs.
import type { FastifyInstance } from 'fastify';
import { isAddressEqual } from 'viem';
import { CancelledAfterWork } from '../../../orchestration/router/cancelled-after-work.ts';
import { createError, NeurinoError } from '../../../protocol/errors.ts';
import { apiIdKind, newApiId } from '../../../protocol/ids.ts';
import { JOB_ID_HEADER, jobObject, parseJobRequest } from '../../../protocol/jobs-api.ts';
import { principalOf } from '../auth.ts';
import { budgetFromBody } from '../budget.ts';
import { clientGoneSignal, type GatewayContext, parsedOrThrow } from '../context.ts';
import type { JobRun } from '../job-request.ts';
import { jobKindFor, podFor } from '../pod-lookup.ts';
import type { IdempotencyClaims, JobLog } from '../ports.ts';
import { jobCancelRoute } from './job-cancel.ts';
import { currentJob, describeJob, jobNotFound } from './job-description.ts';
import { claimOrReplay, idempotencyKeyOf } from './job-idempotency.ts';
import { jobListRoute } from './job-list.ts';

function storedResult(run: Omit<JobRun, 'publicId'>) {
  return { output: run.outcome.result.output, attempts: run.outcome.attempts };
}

/** An LLM body sent through the jobs API names its pod already: `model` may be left out. */
function withModel(kind: string, input: unknown, model: string): unknown {
  if (kind === 'generic' || typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  return 'model' in input ? input : { ...input, model };
}

export function jobRoutes(
  app: FastifyInstance,
  context: GatewayContext,
  jobs: JobLog,
  idempotency?: IdempotencyClaims,
): void {
  app.post('/v1/jobs', async (request, reply) => {
    const principal = principalOf(request);
    const body = parsedOrThrow(parseJobRequest(request.body));
    const entry = podFor(context.catalog, body.pod);
    const key = idempotency === undefined ? undefined : idempotencyKeyOf(request);
    const publicId = newApiId('job');
    const kind = jobKindFor(entry, body.input);
    // Claimed once the request is known good, so a refused one leaves its key free.
    if (idempotency !== undefined && key !== undefined) {
      const claim = { payer: principal.account, key, request: request.body, publicId, mode: body.mode };
      const wait = {
        deadlineAt: Date.now() + budgetFromBody(body, context.budget).timeoutMs,
        signal: clientGoneSignal(reply),
      };
      const replay = await claimOrReplay(context, jobs, idempotency, claim, reply, wait);
      if (replay !== undefined) return replay.answer;
    }
    // A job that ended free frees its key: a retry runs anew.
    const freeKey = async (error: unknown) => {
      if (idempotency === undefined || key === undefined || error instanceof CancelledAfterWork) return;
      await idempotency.forget({ payer: principal.account, key, publicId }).catch((failure: unknown) => {
        request.log.warn({ err: failure, job: publicId }, 'freeing an idempotency key failed');
      });
    };
    const createdAt = Date.now();
    reply.header(JOB_ID_HEADER, publicId);
    const job = {
      principal,
      entry,
      kind,
      input: withModel(kind, body.input, entry.spec.name),
      stream: false,
      budget: budgetFromBody(body, context.budget),
      publicId,
      createdAt,
      cancellable: true,
      keep: storedResult,
    };
    const started = await context.runner
      .start({
        ...job,
        // Logged at once, so every router sharing the store sees it (GET, list, cancel, a retry).
        logNow: true,
        // A sync job stops when its caller goes away, unless a retry may come to read it (async, or keyed).
        ...(body.mode === 'async' || key !== undefined ? {} : { signal: clientGoneSignal(reply) }),
      })
      .catch(async (error: unknown) => {
        await freeKey(error);
        throw error;
      });
    if (body.mode === 'async') {
      started.done.catch(freeKey);
      reply.code(202);
      return jobObject({ id: publicId, pod: entry.spec.name, status: 'queued', createdAt, attempts: 0 });
    }
    const run = await started.done.catch(async (error: unknown) => {
      await freeKey(error);
      throw withinInput(error);
    });
    const { result, receipt, attempts } = run.outcome;
    return jobObject({
      id: publicId,
      pod: entry.spec.name,
      status: 'succeeded',
      createdAt,
      attempts,
      output: result.output,
      usage: {
        computeUnits: receipt.computeUnits,
        price: run.charged,
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
      },
    });
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (request) => {
    const principal = principalOf(request);
    const { id } = request.params;
    if (apiIdKind(id) !== 'job') throw jobNotFound(id);
    const job = await currentJob(context, jobs, id);
    // Someone else's job is answered exactly like a missing one.
    if (job === undefined || !isAddressEqual(job.payer, principal.account)) throw jobNotFound(id);
    return describeJob(context, job);
  });

  jobListRoute(app, context, jobs);
  jobCancelRoute(app, context, jobs);
}

/**
 * A node names the field at fault within the job's input (`tools`); to the caller of the jobs API it is
 * `input.tools`. Errors without a field pass unchanged.
 */
function withinInput(error: unknown): unknown {
  if (!(error instanceof NeurinoError) || error.param === undefined) return error;
  const param = `input.${error.param}`;
  const prefix = `${error.param}: `;
  const message = error.message.startsWith(prefix)
    ? `${param}: ${error.message.slice(prefix.length)}`
    : error.message;
  return createError(error.code, {
    message,
    param,
    retryable: error.retryable,
    cause: error,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}
