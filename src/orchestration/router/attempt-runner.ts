import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import { asNeurinoError, FatalError, type NeurinoError, RetryableError } from '../../protocol/errors.ts';
import { checkJobResult, observedAttempt } from '../../protocol/job-receipt.ts';
import type { JobAssign, JobResult, StreamPiece } from '../../protocol/messages/jobs.ts';
import type { Receipt } from '../../protocol/receipt.ts';
import type { ReceiptHashes } from '../../protocol/receipt-hash.ts';
import { CancelledAfterWork, type StoppedBy } from './cancelled-after-work.ts';
import type { MinerSession } from './miner-session.ts';
import type { AttemptListener } from './session-events.ts';

/**
 * How long a node has, once the client went away, to hand over the work done so far (a pod stops at its
 * next token, signs and sends); after that the attempt is dropped and costs the caller nothing.
 */
export const PAID_CANCEL_GRACE_MS = 2_000;

/**
 * What a node may meter past the cancel it was sent: the hop and the token it was generating. Time it
 * takes to answer after that is not the caller's, however long the grace.
 */
export const PAID_CANCEL_STOP_MS = 500;

export interface AttemptOptions {
  session: MinerSession;
  assign: JobAssign;
  domain: ProtocolDomain;
  /** The miner must acknowledge (or start streaming) within this time, or the attempt fails as node_timeout. */
  acceptTimeoutMs: number;
  /** How long a node has to hand over its partial work once the caller went away (PAID_CANCEL_GRACE_MS). */
  paidCancelGraceMs?: number;
  onChunk: ((piece: StreamPiece) => void) | undefined;
  signal: AbortSignal | undefined;
  logger: Logger;
}

export interface AttemptOutcome {
  result: JobResult;
  receipt: Receipt;
  /** Computed once while checking the node's signature; the store reuses the struct hash. */
  receiptHashes: ReceiptHashes;
  /** From sending the assignment to the result (or shortly after a paid cancel), on this router's clock. */
  elapsedMs: number;
}

/** Counts what reached the caller, so a failed stream is not replayed on another node. */
export interface AttemptProgress {
  chunks: number;
}

/**
 * Runs one attempt on one node: sends the assignment, relays chunks in order, and accepts the result only
 * when checkJobResult verifies it (hash, units within the attempt's time and the node's memory, the node's
 * receipt signature). Settles exactly once: with the verified result, or with the error (node's, timeout,
 * deadline, cancellation). On timeout or deadline the node is told to cancel. When the caller aborts (went
 * away), or the deadline passes after streamed output reached the caller, the node is asked for a result
 * of the work done so far: verified, it rejects as CancelledAfterWork (the caller pays for what it got, as
 * a walk-away does: a deadline just short of a stream's end must not make it free); otherwise, or after
 * PAID_CANCEL_GRACE_MS, as job_cancelled or deadline_exceeded, free.
 */
export function runAttempt(options: AttemptOptions, progress: AttemptProgress): Promise<AttemptOutcome> {
  const { session, assign, signal } = options;
  return new Promise((resolve, reject) => {
    // The node's metering is bounded by the time from here (just before the assignment is sent) to its result.
    const sentAt = performance.now();
    let settled = false;
    /** When the node was asked for the work done (performance.now()); only that result is awaited now. */
    let cancelledAt: number | undefined;
    let stoppedBy: StoppedBy = 'client';
    let nextSeq = 0;
    const timers: NodeJS.Timeout[] = [];
    const finish = (error: NeurinoError | undefined, outcome?: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) reject(error);
      else resolve(outcome as AttemptOutcome);
    };
    const cancel = (reason: string, error: NeurinoError) => {
      session.cancelAttempt(assign.attemptId, reason);
      finish(error);
    };
    const deadlineExceeded = () => new FatalError('deadline_exceeded', { details: { node: session.node } });
    /** Stopped, the job is free unless the node hands over a verified result of the work done. */
    const unpaid = (): NeurinoError =>
      stoppedBy === 'client' ? new FatalError('job_cancelled') : deadlineExceeded();
    const askForWorkDone = (by: StoppedBy) => {
      if (settled || cancelledAt !== undefined) return;
      cancelledAt = performance.now();
      stoppedBy = by;
      for (const timer of timers) clearTimeout(timer);
      session.cancelAttemptPaid(
        assign.attemptId,
        by === 'client' ? 'cancelled by the client' : 'deadline exceeded',
      );
      timers.push(
        setTimeout(() => {
          session.forgetAttempt(assign.attemptId);
          finish(unpaid());
        }, options.paidCancelGraceMs ?? PAID_CANCEL_GRACE_MS),
      );
    };
    const onAbort = () => askForWorkDone('client');

    const remainingMs = Math.max(0, assign.deadlineAt - Date.now());
    timers.push(
      setTimeout(() => {
        // Output the caller already has is paid for; before any, a deadline costs nothing.
        if (progress.chunks > 0) return askForWorkDone('deadline');
        cancel('deadline exceeded', deadlineExceeded());
      }, remainingMs),
    );
    let acceptTimer: NodeJS.Timeout | undefined;
    if (options.acceptTimeoutMs < remainingMs) {
      acceptTimer = setTimeout(() => {
        const message = `node did not accept the job within ${options.acceptTimeoutMs} ms`;
        cancel(
          'not accepted in time',
          new RetryableError('node_timeout', { message, details: { node: session.node } }),
        );
      }, options.acceptTimeoutMs);
      timers.push(acceptTimer);
    }
    const accepted = () => {
      if (acceptTimer !== undefined) clearTimeout(acceptTimer);
    };

    const listener: AttemptListener = {
      accepted,
      chunk(chunk) {
        if (settled || cancelledAt !== undefined) return;
        accepted();
        if (chunk.seq !== nextSeq) {
          const message = `chunk ${chunk.seq} arrived where ${nextSeq} was expected`;
          return cancel('chunks out of order', new RetryableError('bad_result', { message }));
        }
        nextSeq++;
        if (!assign.stream) return;
        progress.chunks++;
        try {
          const { type: _, attemptId: __, seq: ___, ...piece } = chunk;
          options.onChunk?.(piece);
        } catch (error) {
          options.logger.warn({ err: error }, 'chunk consumer failed');
        }
      },
      result(result) {
        if (settled) return;
        accepted();
        // Admitted sessions have announced capabilities before any job is sent to them. A paid cancel's
        // result may meter the attempt only up to shortly after the cancel left.
        const cancelling = cancelledAt !== undefined;
        const until =
          cancelledAt === undefined
            ? performance.now()
            : Math.min(performance.now(), cancelledAt + PAID_CANCEL_STOP_MS);
        const observed = observedAttempt(sentAt, until, session.capabilities);
        checkJobResult(options.domain, assign, result, session.node, observed).then(
          (checked) => {
            if (!checked.ok) return finish(cancelling ? unpaid() : checked.error);
            const outcome = {
              result:
                checked.signature === result.signature ? result : { ...result, signature: checked.signature },
              receipt: checked.receipt,
              receiptHashes: checked.hashes,
              elapsedMs: until - sentAt,
            };
            return cancelling
              ? finish(new CancelledAfterWork(outcome, stoppedBy))
              : finish(undefined, outcome);
          },
          (error: unknown) => finish(cancelling ? unpaid() : asNeurinoError(error)),
        );
      },
      // A node that cannot hand over its partial work answers the paid cancel with an error: nothing to pay.
      failed: (error) => finish(cancelledAt !== undefined ? unpaid() : error),
    };

    if (signal?.aborted) return finish(new FatalError('job_cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      session.startAttempt(assign, listener);
    } catch (error) {
      finish(asNeurinoError(error));
    }
  });
}
