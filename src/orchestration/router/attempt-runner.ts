import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import { asNeurinoError, FatalError, type NeurinoError, RetryableError } from '../../protocol/errors.ts';
import { checkJobResult, observedAttempt } from '../../protocol/job-receipt.ts';
import type { JobAssign, JobResult } from '../../protocol/messages/jobs.ts';
import type { Receipt } from '../../protocol/receipt.ts';
import type { ReceiptHashes } from '../../protocol/receipt-hash.ts';
import type { AttemptListener, MinerSession } from './miner-session.ts';

export interface AttemptOptions {
  session: MinerSession;
  assign: JobAssign;
  domain: ProtocolDomain;
  /** The miner must acknowledge (or start streaming) within this time, or the attempt fails as node_timeout. */
  acceptTimeoutMs: number;
  onChunk: ((delta: string) => void) | undefined;
  signal: AbortSignal | undefined;
  logger: Logger;
}

export interface AttemptOutcome {
  result: JobResult;
  receipt: Receipt;
  /** Computed once while checking the node's signature; the store reuses the struct hash. */
  receiptHashes: ReceiptHashes;
}

/** Counts what reached the caller, so a failed stream is not replayed on another node. */
export interface AttemptProgress {
  chunks: number;
}

/**
 * Runs one attempt on one node: sends the assignment, relays chunks in order, and accepts the result only
 * when checkJobResult verifies it (hash, units within the attempt's time and the node's memory, the node's
 * receipt signature). Settles exactly once: with the verified result, or with the error (node's, timeout,
 * deadline, cancellation). On timeout, deadline or abort the node is told to cancel.
 */
export function runAttempt(options: AttemptOptions, progress: AttemptProgress): Promise<AttemptOutcome> {
  const { session, assign, signal } = options;
  return new Promise((resolve, reject) => {
    // The node's metering is bounded by the time from here (just before the assignment is sent) to its result.
    const sentAt = performance.now();
    let settled = false;
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
    const onAbort = () => cancel('cancelled by the client', new FatalError('job_cancelled'));

    const remainingMs = Math.max(0, assign.deadlineAt - Date.now());
    timers.push(
      setTimeout(
        () =>
          cancel(
            'deadline exceeded',
            new FatalError('deadline_exceeded', { details: { node: session.node } }),
          ),
        remainingMs,
      ),
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
        if (settled) return;
        accepted();
        if (chunk.seq !== nextSeq) {
          const message = `chunk ${chunk.seq} arrived where ${nextSeq} was expected`;
          return cancel('chunks out of order', new RetryableError('bad_result', { message }));
        }
        nextSeq++;
        if (!assign.stream) return;
        progress.chunks++;
        try {
          options.onChunk?.(chunk.delta);
        } catch (error) {
          options.logger.warn({ err: error }, 'chunk consumer failed');
        }
      },
      result(result) {
        if (settled) return;
        accepted();
        // Admitted sessions have announced capabilities before any job is sent to them.
        const observed = observedAttempt(sentAt, performance.now(), session.capabilities);
        checkJobResult(options.domain, assign, result, session.node, observed).then(
          (checked) =>
            checked.ok
              ? finish(undefined, {
                  result:
                    checked.signature === result.signature
                      ? result
                      : { ...result, signature: checked.signature },
                  receipt: checked.receipt,
                  receiptHashes: checked.hashes,
                })
              : finish(checked.error),
          (error: unknown) => finish(asNeurinoError(error)),
        );
      },
      failed: (error) => finish(error),
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
