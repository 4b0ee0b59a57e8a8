// What every route of the gateway shares.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FatalError, type NeurinoError } from '../../protocol/errors.ts';
import type { Result } from '../../protocol/schema-errors.ts';
import { type BudgetDefaults, budgetFromHeaders, type JobBudget } from './budget.ts';
import type { JobRunner } from './job-runner.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { ModelCatalog } from './ports.ts';

export interface GatewayContext {
  catalog: ModelCatalog;
  runner: JobRunner;
  metrics: GatewayMetrics;
  budget: BudgetDefaults;
  /** Unix seconds the gateway started: the `created` of models it lists. */
  startedAt: number;
}

export function headerBudget(context: GatewayContext, request: FastifyRequest): JobBudget {
  return budgetFromHeaders(request.headers, context.budget);
}

/** The value of a parse Result, or its error thrown (400 naming the field). */
export function parsedOrThrow<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw result.error;
}

/** Fires when the client goes away before its answer is complete: the job is cancelled and freed. */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) {
      const reason: NeurinoError = new FatalError('job_cancelled', {
        message: 'Client closed the connection',
      });
      controller.abort(reason);
    }
  });
  return controller.signal;
}
