// The attempts one router session assigned: admission checks, a slot each, cancel, deadline, and the
// frames that report them (`job.accepted`, `job.chunk`, `job.result`, `job.error`).

import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Hex, LocalAccount } from 'viem';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import { asNeurinoError, FatalError, type NeurinoError, RetryableError } from '../../protocol/errors.ts';
import type { MinerMessage } from '../../protocol/messages/index.ts';
import { type JobAssign, MAX_RETRY_AFTER_MS, type StreamPiece } from '../../protocol/messages/jobs.ts';
import { type JobWork, jobWork } from './job-input.ts';
import { PaidCancel, runJob } from './job-runner.ts';
import type { HostedPod, PodHost } from './pod-host.ts';
import type { Slots } from './slots.ts';

export interface JobDeskOptions {
  readonly account: LocalAccount;
  readonly domain: ProtocolDomain;
  readonly pods: PodHost;
  readonly slots: Slots;
  readonly logger: Logger;
  /**
   * Sends a frame; returns what went out when it differs from `message` (a result too large for a frame
   * goes as the attempt's error).
   */
  readonly send: (message: MinerMessage) => MinerMessage | undefined;
  /** Called after every attempt the desk ran (not the refused ones), e.g. to count and re-announce warm pods. */
  readonly onAttemptEnd?: (outcome: AttemptOutcome) => void;
  /** How long past a job's deadline the miner stops it by itself (DEADLINE_BACKSTOP_MS). */
  readonly deadlineBackstopMs?: number;
  /** Called when the desk refused a job for want of a free slot. */
  readonly onNoSlot?: () => void;
}

/** How an attempt the desk ran ended. */
export interface AttemptOutcome {
  readonly ok: boolean;
  readonly podId: Hex;
  /** The pod's name, as its spec says. */
  readonly pod: string;
  readonly kind: JobAssign['kind'];
  /** A failed attempt's error code. */
  readonly code?: string;
  /** A finished attempt's tokens (a paid cancel's too). */
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number };
  /** From the assignment to the result or error. */
  readonly seconds: number;
}

interface Attempt {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

const MAX_ERROR_MESSAGE = 1024;
const MAX_ERROR_PARAM = 256;

/**
 * How long an attempt runs before the miner acknowledges it (a streamed one acknowledges with its first
 * chunk). Far below any accept timeout a router sets (10 s by default); an attempt that ends sooner needs
 * no acknowledgement at all, since its result or error stops the router's timer. The frame and its
 * handling on the router otherwise compete with the model for the CPU while it computes (measured:
 * about 0.1-0.15 ms on a 4 ms job on a 2-core machine).
 */
export const ACKNOWLEDGE_AFTER_MS = 20;

/**
 * The router owns a job's deadline: at it, it cancels the attempt, and asks for the work done when output
 * already reached the caller (who pays for it). The miner's own timer is a backstop for a router gone
 * quiet, this much later, so it does not pre-empt that paid cancel with an unpaid error (nor stop jobs
 * early when this machine's clock runs ahead of the router's).
 */
export const DEADLINE_BACKSTOP_MS = 1_000;

export class JobDesk {
  private readonly attempts = new Map<Hex, Attempt>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: JobDeskOptions) {}

  get active(): number {
    return this.attempts.size;
  }

  /** Takes or refuses an assignment; never throws. */
  assign(assign: JobAssign, draining: boolean): void {
    const { attemptId } = assign;
    const log = this.options.logger.child({ jobId: assign.jobId, attemptId });
    if (this.attempts.has(attemptId)) {
      log.warn('router assigned an attempt that is already running; ignored');
      return;
    }
    const admitted = this.admit(assign, draining);
    if (!admitted.ok) {
      log.info({ code: admitted.error.code }, `refused job: ${admitted.error.message}`);
      // No slot was taken: the free count is exact, and lets the router stop sending into a full node.
      this.sendError(attemptId, admitted.error, this.slots.free);
      if (admitted.error.code === 'no_capacity') this.options.onNoSlot?.();
      return;
    }
    this.slots.tryTake();
    const controller = new AbortController();
    const done = this.execute(assign, admitted.pod, admitted.work, controller, log);
    this.attempts.set(attemptId, { controller, done });
  }

  /**
   * Stops a running attempt; the runtime frees its slot and a `job.error` reports the cancel. `partial`:
   * the caller pays for the work done, so a runtime that hands it over is answered with its `job.result`.
   */
  cancel(attemptId: Hex, reason: string | undefined, partial = false): boolean {
    const attempt = this.attempts.get(attemptId);
    if (attempt === undefined) return false;
    attempt.controller.abort(
      partial
        ? new PaidCancel(reason)
        : new FatalError('job_cancelled', { message: reason ?? 'cancelled by the router' }),
    );
    return true;
  }

  /** Aborts everything (the socket is gone) and waits until every attempt has let go of its slot. */
  async abortAll(reason: NeurinoError): Promise<void> {
    for (const attempt of this.attempts.values()) attempt.controller.abort(reason);
    await this.idle();
  }

  /** Resolves when no attempt is running. */
  idle(): Promise<void> {
    if (this.attempts.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private get slots() {
    return this.options.slots;
  }

  /** The checks before a slot is taken: each failure is the `job.error` the router gets. */
  private admit(
    assign: JobAssign,
    draining: boolean,
  ): { ok: true; pod: HostedPod; work: JobWork } | { ok: false; error: NeurinoError } {
    const refuse = (error: NeurinoError) => ({ ok: false as const, error });
    if (draining) {
      return refuse(
        new RetryableError('node_draining', { message: 'node is draining and takes no new jobs' }),
      );
    }
    if (Date.now() >= assign.deadlineAt) {
      return refuse(new FatalError('deadline_exceeded', { message: 'the job arrived after its deadline' }));
    }
    const pod = this.options.pods.get(assign.podId);
    if (pod === undefined) {
      const message = `pod ${assign.podId} is not configured on this node`;
      return refuse(new RetryableError('pod_load_failed', { message }));
    }
    if (!pod.spec.kinds.includes(assign.kind)) {
      const message = `pod ${pod.spec.name} does not serve ${assign.kind} jobs`;
      return refuse(new FatalError('unsupported_parameter', { message }));
    }
    const checked = jobWork(assign.kind, assign.input);
    if (!checked.ok) return checked;
    if (this.slots.free === 0) return refuse(new RetryableError('no_capacity', { message: 'no free slot' }));
    return { ok: true, pod, work: checked.work };
  }

  private async execute(
    assign: JobAssign,
    pod: HostedPod,
    work: JobWork,
    controller: AbortController,
    log: Logger,
  ): Promise<void> {
    const { attemptId } = assign;
    const deadline = setTimeout(
      () =>
        controller.abort(new FatalError('deadline_exceeded', { message: 'the job ran past its deadline' })),
      Math.max(0, assign.deadlineAt + (this.options.deadlineBackstopMs ?? DEADLINE_BACKSTOP_MS) - Date.now()),
    );
    const startedAt = performance.now();
    let ok = false;
    let code: string | undefined;
    let usage: AttemptOutcome['usage'];
    let acknowledged = false;
    let ackLater: NodeJS.Timeout | undefined;
    const acknowledge = () => {
      if (acknowledged) return;
      acknowledged = true;
      this.options.send({ type: 'job.accepted', attemptId });
    };
    try {
      let seq = 0;
      const onChunk = (piece: StreamPiece) => {
        if (controller.signal.aborted) return;
        acknowledge();
        this.options.send({ type: 'job.chunk', attemptId, seq: seq++, ...piece });
      };
      const context = {
        account: this.options.account,
        domain: this.options.domain,
        ...(assign.stream ? { onChunk } : {}),
      };
      // The job is handed to the runtime first (its synchronous part: checks, prompt, tokens); the
      // acknowledgement follows only if it is still running after ACKNOWLEDGE_AFTER_MS.
      const running = runJob(context, pod, assign, work, controller.signal);
      ackLater = setTimeout(acknowledge, ACKNOWLEDGE_AFTER_MS);
      const result = await running;
      // A cancel that lands while the receipt is signed still wins: the router has moved on. Not a paid
      // one: the router waits for this result, finished or partial.
      const reason: unknown = controller.signal.reason;
      if (controller.signal.aborted && !(reason instanceof PaidCancel)) throw reason;
      const instead = this.options.send(result);
      if (instead?.type === 'job.error') {
        code = instead.code;
        log.info({ code, gpuMs: result.gpuMs }, `job failed: ${instead.message}`);
      } else {
        ok = true;
        usage = result.usage;
        log.debug({ usage: result.usage, gpuMs: result.gpuMs }, 'job done');
      }
    } catch (caught) {
      const error = asNeurinoError(caught);
      code = error.code;
      log.info({ code: error.code, retryable: error.retryable }, `job failed: ${error.message}`);
      this.sendError(attemptId, error);
    } finally {
      // The attempt's end reaches here in the same turn as its result or error: no ack can follow them.
      clearTimeout(deadline);
      clearTimeout(ackLater);
      this.slots.give();
      this.attempts.delete(attemptId);
      this.options.onAttemptEnd?.({
        ok,
        podId: pod.podId,
        pod: pod.spec.name,
        kind: assign.kind,
        seconds: (performance.now() - startedAt) / 1000,
        ...(code === undefined ? {} : { code }),
        ...(usage === undefined ? {} : { usage }),
      });
      if (this.attempts.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private sendError(attemptId: Hex, error: NeurinoError, slotsFree?: number): void {
    this.options.send({
      type: 'job.error',
      attemptId,
      code: error.code,
      message: error.message.slice(0, MAX_ERROR_MESSAGE),
      retryable: error.retryable,
      // A path too long for the frame is left out rather than cut into one that names another field.
      ...(error.param === undefined || error.param.length > MAX_ERROR_PARAM ? {} : { param: error.param }),
      ...(slotsFree === undefined ? {} : { slotsFree }),
      ...retryAfterOf(error),
    });
  }
}

/** The wait a busy error asks for (an upstream's Retry-After), as the wire carries it. */
function retryAfterOf(error: NeurinoError): { retryAfterMs?: number } {
  const seconds = error.retryAfterSeconds;
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return {};
  return { retryAfterMs: Math.min(Math.round(seconds * 1000), MAX_RETRY_AFTER_MS) };
}
