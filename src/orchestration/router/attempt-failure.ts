import type { Address, Hex } from 'viem';
import type { NeurinoError } from '../../protocol/errors.ts';
import type { MinerSession } from './miner-session.ts';

/**
 * What a failed attempt means for the job and the node:
 * - `final`: the job was cancelled, ran out of time or is too large to send to any node: stop;
 * - `refused`: the node says the request is at fault (`invalid_request`, `unsupported_parameter`): stop,
 *   unless another node may be asked (a node refusing falsely would fail callers unpunished; see
 *   NodeRefusals);
 * - `busy`: the node could not take it now (full, draining, rate limited) and did no work: no penalty,
 *   and no retry spent; a node with no slot free may be asked again once one frees, a rate limited one
 *   once its pause ends (`mayAskAgain`; the pause: `rateLimitedPauseMs`);
 * - `cannot-load`: the node does not have the pod and cannot get it: next node, and do not offer it again;
 * - `node-fault`: anything else (crashed, dropped, timed out, a bad result or frame, a code of its own,
 *   whatever retryable flag it sent): next node, and suspend this one.
 */
export type FailureKind = 'final' | 'refused' | 'busy' | 'cannot-load' | 'node-fault';

const BUSY = new Set(['no_capacity', 'node_draining', 'rate_limited']);

/** A code by which a node says it cannot do something now (full, draining), not that it never can. */
export function isBusyCode(code: string): boolean {
  return BUSY.has(code);
}
const CANNOT_LOAD = new Set(['pod_not_found', 'pod_load_failed']);
// payload_too_large: the router's own refusal to send a job no node can take (a node never sends it).
const FINAL = new Set(['deadline_exceeded', 'job_cancelled', 'payload_too_large']);
const REFUSALS = new Set(['invalid_request', 'unsupported_parameter']);

export function classifyFailure(error: NeurinoError): FailureKind {
  if (FINAL.has(error.code)) return 'final';
  if (isBusyCode(error.code)) return 'busy';
  // The router chose the pod, so a node that lacks it is the node's problem, whatever flag it sent.
  if (CANNOT_LOAD.has(error.code)) return 'cannot-load';
  // Marked retryable, a refusal is the node's own trouble.
  if (REFUSALS.has(error.code) && !error.retryable) return 'refused';
  return 'node-fault';
}

/** Suspension after the n-th failure in a row: doubles from `baseMs`, capped at `maxMs`. */
export function suspensionMs(consecutiveFailures: number, baseMs: number, maxMs: number): number {
  const exponent = Math.min(Math.max(consecutiveFailures - 1, 0), 30);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

/**
 * A node that says it is rate limited (its upstream's 429) sits out at least this long: not a fault, but
 * sending it the next jobs at once would only have them refused.
 */
export const RATE_LIMITED_PAUSE_MS = 1_000;

/**
 * How long a rate limited node sits out: what it asked for (its upstream's Retry-After), and at least
 * RATE_LIMITED_PAUSE_MS, doubled for each pause in a row with no job served in between (`streak`, from 1),
 * so a node that is always "busy" is left alone ever longer; at most `maxMs` (a fault's longest
 * suspension: a node cannot ask for more).
 */
export function rateLimitedPauseMs(error: NeurinoError, streak: number, maxMs: number): number {
  const asked = (error.retryAfterSeconds ?? 0) * 1000;
  const least = RATE_LIMITED_PAUSE_MS * 2 ** Math.min(Math.max(streak - 1, 0), 30);
  return Math.min(Math.max(asked, least), Math.max(maxMs, RATE_LIMITED_PAUSE_MS));
}

/**
 * Whether a node that refused the job as busy is asked again, and only once: when it said it had no slot
 * free (its count here follows the refusal, so it is not picked before one frees), or it was rate limited
 * (paused, so not picked before its pause ends). A node draining, or refusing with slots free, would
 * refuse again.
 */
export function mayAskAgain(
  session: MinerSession,
  podId: Hex,
  error: NeurinoError,
  refused: ReadonlySet<Address>,
) {
  if (refused.has(session.node)) return false;
  if (error.code === 'rate_limited') return true;
  return error.code === 'no_capacity' && session.freeSlotsFor(podId) === 0;
}
