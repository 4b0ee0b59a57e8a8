// The metered life of one job: logged, credits reserved for its worst case, dispatched, then charged on
// the node's signed receipt or released (a failed job is free; one the caller walked away from, or whose
// deadline cut a stream already flowing, is charged for the work the node had done, when the node hands
// it over). Tracks running jobs so shutdown can wait.

import type { Logger } from 'pino';
import { type Address, type Hex, isAddressEqual } from 'viem';
import { CancelledAfterWork } from '../../orchestration/router/cancelled-after-work.ts';
import { asNeurinoError, FatalError, type NeurinoError, RetryableError } from '../../protocol/errors.ts';
import { newJobId } from '../../protocol/ids.ts';
import type { TokenUsage } from '../../protocol/openai-responses.ts';
import { promptAffinityKey } from '../../protocol/prompt-affinity-key.ts';
import { maxPriceFor } from '../../protocol/units.ts';
import type { JobRequest, JobRun, LiveJob, StartedJob } from './job-request.ts';
import type { GatewayMetrics } from './metrics.ts';
import { answeredUsage, cachedTokensSaid } from './pod-output.ts';
import type {
  CreditReservations,
  DispatchOutcome,
  FinishedJobStatus,
  JobDispatcher,
  JobEnd,
} from './ports.ts';

export interface JobRunnerDeps {
  ledger: CreditReservations;
  dispatcher: JobDispatcher;
  metrics: GatewayMetrics;
  logger: Logger;
  /** The frontend credited with this gateway's traffic. */
  frontend?: Address | undefined;
  /** Memory assumed for the reservation when the pod declares less (a CPU pod declares 0 VRAM). */
  reserveVramMiB: number;
}

export class JobRunner {
  private readonly running = new Set<Promise<unknown>>();
  /** This router's unfinished jobs by public id: the log has them (and their attempts) at their end. */
  private readonly live = new Map<string, LiveJob>();
  /** How to stop each cancellable job, and when it has ended (charged or released). */
  private readonly cancellers = new Map<string, { controller: AbortController; ended: Promise<void> }>();
  private draining = false;

  constructor(private readonly deps: JobRunnerDeps) {}

  get inFlight(): number {
    return this.running.size;
  }

  /** A job of this router still running (the jobs log writes it, with its attempts, at its end). */
  progress(publicId: string): LiveJob | undefined {
    const job = this.live.get(publicId);
    return job === undefined ? undefined : { ...job };
  }

  /** This router's unfinished jobs of `payer` (bounded by the jobs in flight). */
  liveOf(payer: Address): LiveJob[] {
    const found: LiveJob[] = [];
    for (const job of this.live.values()) if (isAddressEqual(job.payer, payer)) found.push({ ...job });
    return found;
  }

  /** Resolves when a cancellable job running on this router has ended; undefined when none runs here. */
  whenEnded(publicId: string): Promise<void> | undefined {
    return this.cancellers.get(publicId)?.ended;
  }

  /**
   * Stops a cancellable job of `payer` running on this router, as a caller walking away would (the node
   * hands over the work done, which is charged; without any, the job is free), and resolves once it has
   * ended. False when this router runs no such job.
   */
  async cancel(publicId: string, payer: Address): Promise<boolean> {
    const job = this.live.get(publicId);
    const canceller = this.cancellers.get(publicId);
    if (job === undefined || canceller === undefined || !isAddressEqual(job.payer, payer)) return false;
    canceller.controller.abort(new FatalError('job_cancelled', { message: 'Cancelled by its caller' }));
    await canceller.ended;
    return true;
  }

  /**
   * Logs the job and reserves its worst-case price, then dispatches in the background. Throws before
   * dispatch (402 insufficient_credits, 503 while draining), so async callers can still answer an error.
   */
  async start(request: JobRequest): Promise<StartedJob> {
    if (this.draining)
      throw new RetryableError('service_unavailable', { message: 'Router is shutting down' });
    const { ledger, metrics } = this.deps;
    const jobId = newJobId();
    const createdAt = request.createdAt ?? Date.now();
    const tracker = trackerOf(this.running);
    metrics.inFlight.inc();
    try {
      // Refused, the job is logged as failed; an async job is logged as queued before it is answered.
      await ledger.reserve({
        jobId,
        payer: request.principal.account,
        amount: this.reservation(request),
        job: {
          publicId: request.publicId,
          apiKeyId: request.principal.id,
          podId: request.entry.podId,
          kind: request.kind,
          createdAt,
        },
        ...(request.logNow === true ? { logNow: true } : {}),
      });
    } catch (error) {
      this.countFailed(jobId, request, asNeurinoError(error));
      metrics.inFlight.dec();
      tracker.settle();
      throw error;
    }
    this.live.set(request.publicId, {
      publicId: request.publicId,
      payer: request.principal.account,
      podId: request.entry.podId,
      status: 'queued',
      createdAt,
      attempts: 0,
    });
    const controller = request.cancellable === true ? new AbortController() : undefined;
    const run =
      controller === undefined
        ? request
        : {
            ...request,
            signal:
              request.signal === undefined
                ? controller.signal
                : AbortSignal.any([request.signal, controller.signal]),
          };
    const done = this.execute(jobId, run).finally(() => {
      this.cancellers.delete(request.publicId);
      this.live.delete(request.publicId);
      metrics.inFlight.dec();
      tracker.settle();
    });
    if (controller !== undefined) {
      const ended = done.then(
        () => {},
        () => {},
      );
      this.cancellers.set(request.publicId, { controller, ended });
    }
    return { jobId, done };
  }

  /** Refuses new jobs and waits for the running ones. */
  async drain(): Promise<void> {
    this.draining = true;
    await Promise.allSettled([...this.running]);
  }

  private reservation(request: JobRequest): bigint {
    const { spec, pricePerUnit } = request.entry;
    const vramMiB = Math.max(spec.minVramMiB, this.deps.reserveVramMiB);
    return maxPriceFor({ timeoutMs: request.budget.timeoutMs, vramMiB, pricePerUnit });
  }

  private async execute(jobId: Hex, request: JobRequest): Promise<JobRun> {
    const { dispatcher, ledger, metrics, logger } = this.deps;
    let queued = true;
    const leaveQueue = () => {
      if (queued) metrics.queueDepth.dec();
      queued = false;
    };
    metrics.queueDepth.inc();
    // Attempts are kept here and written with the job's end, in the charge's (or release's) transaction.
    const attempts: JobEnd['attempts'] = [];
    const startedAt = new Map<Hex, number>();
    let outcome: DispatchOutcome;
    try {
      outcome = await dispatcher.dispatch(
        {
          jobId,
          podId: request.entry.podId,
          kind: request.kind,
          input: request.input,
          stream: request.stream,
          payer: request.principal.account,
          ...(this.deps.frontend === undefined ? {} : { frontend: this.deps.frontend }),
          pricePerUnit: request.entry.pricePerUnit,
          affinity: request.kind === 'chat' ? promptAffinityKey(request.input) : undefined,
        },
        { maxRetries: request.budget.maxRetries, deadlineAt: Date.now() + request.budget.timeoutMs },
        {
          ...(request.onChunk === undefined ? {} : { onChunk: request.onChunk }),
          ...(request.signal === undefined ? {} : { signal: request.signal }),
          onAttempt: (a) => {
            leaveQueue();
            if (startedAt.size === 0) {
              if (request.logNow === true) void ledger.started?.(jobId);
              request.onStarted?.();
            }
            startedAt.set(a.attemptId, Date.now());
            const live = this.live.get(request.publicId);
            if (live !== undefined) Object.assign(live, { status: 'running', attempts: startedAt.size });
          },
          onAttemptEnd: (a) => {
            metrics.attempts.inc({ outcome: a.error === undefined ? 'succeeded' : 'failed' });
            const errorCode = a.error?.code;
            attempts.push({
              attemptId: a.attemptId,
              node: a.node,
              status: finalStatus(errorCode),
              ...(errorCode === undefined ? {} : { errorCode }),
              startedAt: startedAt.get(a.attemptId) ?? Date.now(),
              finishedAt: Date.now(),
            });
          },
        },
      );
      request.check?.(outcome.result);
    } catch (error) {
      leaveQueue();
      const failure = asNeurinoError(error);
      if (failure instanceof CancelledAfterWork)
        await this.chargeCancelled(jobId, request, failure, attempts);
      else await this.finishFailed(jobId, request, failure, attempts);
      throw failure;
    }
    leaveQueue();

    const generated = request.kind === 'chat' || request.kind === 'completion';
    const usage = answeredUsage(
      outcome.result.usage,
      generated ? cachedTokensSaid(outcome.result.output) : 0,
    );
    let charged: bigint;
    try {
      const succeeded = outcome;
      // The router attests the receipt when it is stored (metering, per batch), not on the caller's time.
      ({ charged } = await ledger.charge({
        jobId,
        ...signedCharge(outcome),
        ending: (amount) => ({
          status: 'succeeded',
          ...(request.keep === undefined
            ? {}
            : { result: request.keep({ jobId, outcome: succeeded, charged: amount, usage }) }),
          attempts,
        }),
      }));
    } catch (error) {
      const failure = asNeurinoError(error);
      logger.error({ err: error, jobId }, 'charging a finished job failed');
      await this.finishFailed(jobId, request, failure, attempts);
      throw failure;
    }
    const run = { jobId, outcome, charged, usage };
    metrics.jobs.inc({ kind: request.kind, outcome: 'succeeded' });
    if (generated) countPromptTokens(metrics, usage);
    logger.info(
      {
        jobId,
        job: request.publicId,
        node: outcome.node,
        attempts: outcome.attempts,
        charged: charged.toString(),
      },
      'job succeeded',
    );
    return { ...run, publicId: request.publicId };
  }

  /**
   * The caller went away (or its deadline passed after output reached it) and the node handed over the
   * work done until then: the job ends cancelled (its error code says which) and that work is charged on
   * its receipt. Should the charge fail, the job is released (free) instead.
   */
  private async chargeCancelled(
    jobId: Hex,
    request: JobRequest,
    cancelled: CancelledAfterWork,
    attempts: JobEnd['attempts'],
  ) {
    const { outcome } = cancelled;
    try {
      const { charged } = await this.deps.ledger.charge({
        jobId,
        ...signedCharge(outcome),
        ending: () => ({ status: 'cancelled', errorCode: cancelled.code, attempts }),
      });
      // Told apart from a free stop of the same code: what cut work earns.
      this.deps.metrics.jobs.inc({ kind: request.kind, outcome: `${cancelled.code}_charged` });
      this.deps.logger.info(
        { jobId, job: request.publicId, node: outcome.receipt.node, charged: charged.toString() },
        cancelled.message,
      );
    } catch (error) {
      this.deps.logger.error({ err: error, jobId }, 'charging a cancelled job failed');
      await this.finishFailed(jobId, request, cancelled, attempts);
    }
  }

  /** Frees the reservation and ends the job in the log, in one transaction: a failed job is free. */
  private async finishFailed(
    jobId: Hex,
    request: JobRequest,
    error: NeurinoError,
    attempts: JobEnd['attempts'],
  ) {
    await this.deps.ledger
      .release(jobId, { status: finalStatus(error.code), errorCode: error.code, attempts })
      .catch((e) => this.logStoreError('release', e));
    this.countFailed(jobId, request, error);
  }

  private countFailed(jobId: Hex, request: JobRequest, error: NeurinoError) {
    this.deps.metrics.jobs.inc({ kind: request.kind, outcome: error.code });
    this.deps.logger.info({ jobId, job: request.publicId, code: error.code }, 'job failed');
  }

  private logStoreError(step: string, error: unknown) {
    this.deps.logger.error({ err: error, step }, 'jobs log or ledger write failed');
  }
}

/** What a charge takes from a node's verified result: its receipt, the receipt's leaf hash, its signature. */
function signedCharge(outcome: Pick<DispatchOutcome, 'receipt' | 'receiptHashes' | 'result'>) {
  return {
    receipt: outcome.receipt,
    receiptHash: outcome.receiptHashes.structHash,
    nodeSignature: outcome.result.signature,
  };
}

function finalStatus(errorCode: string | undefined): FinishedJobStatus {
  if (errorCode === undefined) return 'succeeded';
  return errorCode === 'job_cancelled' ? 'cancelled' : 'failed';
}

/** A placeholder promise in the running set, settled when the job leaves it. */
function trackerOf(running: Set<Promise<unknown>>) {
  let settle!: () => void;
  const promise = new Promise<void>((resolve) => {
    settle = resolve;
  });
  running.add(promise);
  void promise.then(() => running.delete(promise));
  return { settle };
}

/** The prompt's tokens, split by what the node's cache held. */
function countPromptTokens(metrics: GatewayMetrics, usage: TokenUsage): void {
  const { inputTokens, cachedInputTokens: cached = 0 } = usage;
  if (cached > 0) metrics.promptTokens.inc({ cached: 'yes' }, cached);
  if (inputTokens > cached) metrics.promptTokens.inc({ cached: 'no' }, inputTokens - cached);
}
