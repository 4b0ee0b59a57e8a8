// The dispatcher's refusals that are not a node's: a budget it cannot run with, no node for the pod, a
// deadline that passed before any node was free.
import { FatalError, type NeurinoError, RetryableError } from '../../protocol/errors.ts';
import type { DispatchBudget } from './dispatch-types.ts';
import type { CatalogEntry } from './pod-catalog.ts';

export function checkBudget(budget: DispatchBudget): void {
  if (!Number.isSafeInteger(budget.maxRetries) || budget.maxRetries < 0) {
    throw new FatalError('invalid_request', {
      message: `maxRetries must be a non-negative integer, got ${budget.maxRetries}`,
    });
  }
  if (!Number.isFinite(budget.deadlineAt)) {
    throw new FatalError('invalid_request', { message: 'deadlineAt must be a finite timestamp' });
  }
}

/** No node for the pod; `resumesAt`: when a paused node of the pod may be asked again (Retry-After). */
export function noNode(
  pod: CatalogEntry,
  attempts: number,
  lastError: NeurinoError | undefined,
  resumesAt?: number,
): RetryableError {
  const message =
    attempts === 0
      ? `No node can serve ${pod.spec.name} right now`
      : `No other node can serve ${pod.spec.name} after ${attempts} failed attempt(s); last: ${lastError?.message}`;
  return new RetryableError('no_node_available', {
    message,
    details: { podId: pod.podId, attempts, ...(lastError === undefined ? {} : { lastCode: lastError.code }) },
    ...(lastError === undefined ? {} : { cause: lastError }),
    ...(resumesAt === undefined ? {} : { retryAfterSeconds: secondsUntil(resumesAt) }),
  });
}

/** Whole seconds (at least one) until `at`: a Retry-After. */
export function secondsUntil(at: number): number {
  return Math.max(1, Math.ceil((at - Date.now()) / 1000));
}

export function deadlineBeforeNode(attempts: number, lastError: NeurinoError | undefined): FatalError {
  return new FatalError('deadline_exceeded', {
    message:
      attempts === 0
        ? 'Deadline exceeded before a node was free'
        : `Deadline exceeded after ${attempts} attempts`,
    details: { attempts, ...(lastError === undefined ? {} : { lastCode: lastError.code }) },
    ...(lastError === undefined ? {} : { cause: lastError }),
  });
}
