import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import { asNeurinoError, FatalError, type NeurinoError, RetryableError } from '../../protocol/errors.ts';
import { attemptIdFor } from '../../protocol/ids.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { classifyFailure, mayAskAgain, rateLimitedPauseMs, suspensionMs } from './attempt-failure.ts';
import { type AttemptOutcome, type AttemptProgress, runAttempt } from './attempt-runner.ts';
import { checkBudget, deadlineBeforeNode, noNode } from './dispatch-errors.ts';
import type { DispatchBudget, DispatchHooks, DispatchJob, DispatchResult } from './dispatch-types.ts';
import { EfficiencyWatch } from './efficiency-watch.ts';
import { FairShare } from './fair-share.ts';
import type { MinerHub } from './miner-hub.ts';
import type { MinerSession } from './miner-session.ts';
import { NodeRefusals, OVERRULED_IN_A_ROW } from './node-refusals.ts';
import type { PaceCheckOptions, PaceReport } from './pace-check.ts';
import type { CatalogEntry, PodCatalog } from './pod-catalog.ts';
import { PodDemand, type PodLoad } from './pod-demand.ts';
import type { WaitTicket } from './pod-waiters.ts';
import { PromptAffinity } from './prompt-affinity.ts';
import type { PickRequest, Scheduler } from './scheduler.ts';
import { feedScheduler } from './scheduler-feed.ts';
import type { UptimeTracker } from './uptime-tracker.ts';

export interface DispatcherOptions {
  hub: MinerHub;
  scheduler: Scheduler;
  catalog: PodCatalog;
  logger: Logger;
  /** Time a node has to acknowledge an assignment (default 10 s). */
  acceptTimeoutMs?: number;
  /** Time a node has to hand over its partial work once the caller went away (default 2 s). */
  paidCancelGraceMs?: number;
  /** How long a job may wait for a slot when every capable node is busy (default 30 s, within the deadline). */
  maxQueueMs?: number;
  /** A failing node sits out `baseMs` (default 30 s), doubling on each failure in a row up to `maxMs` (10 min). */
  suspension?: { baseMs?: number; maxMs?: number };
  uptime?: UptimeTracker;
  /** Conversations' nodes remembered at most (default 50,000). */
  affinityKeys?: number;
  /** How announced efficiencies are checked against the pace nodes serve at (pace-check.ts). */
  paceCheck?: PaceCheckOptions;
}

interface StartState {
  attemptId: Hex;
  attempts: number;
  tried: ReadonlySet<Address>;
  progress: AttemptProgress;
  lastError: NeurinoError | undefined;
  /** Only a node free now will do (a refusal's second opinion is not worth a wait in the queue). */
  freeNow: boolean;
}

/** What a dispatcher waits and suspends for unless told otherwise (the router's flags show them). */
export const DISPATCHER_DEFAULTS = {
  acceptTimeoutMs: 10_000,
  maxQueueMs: 30_000,
  suspension: { baseMs: 30_000, maxMs: 600_000 },
} as const;

/** Why no further attempt could start, when a node's refusal is to be checked by another. */
const NO_OTHER_NODE: ReadonlySet<string> = new Set(['no_node_available', 'no_capacity']);

export type AttemptOutcomeLabel = 'succeeded' | 'node_fault' | 'refused' | 'busy' | 'cannot_load' | 'final';

/** An attempt sent: to which node, whether the pod was warm there, and its outcome to come. */
interface StartedAttempt {
  session: MinerSession;
  running: Promise<AttemptOutcome>;
  warm: boolean;
}

/**
 * Runs jobs on miners: picks a node, sends one attempt (its own id), relays the stream, verifies the
 * signed result, and on a node's failure moves on to the next node within the caller's retry budget and
 * deadline, suspending the node that failed. Keeps the scheduler fed from the hub while it lives.
 */
export class Dispatcher {
  readonly #hub: MinerHub;
  readonly #scheduler: Scheduler;
  readonly #affinity: PromptAffinity;
  readonly #catalog: PodCatalog;
  readonly #logger: Logger;
  readonly #acceptTimeoutMs: number;
  readonly #paidCancelGraceMs: number | undefined;
  readonly #maxQueueMs: number;
  readonly #suspendBaseMs: number;
  readonly #suspendMaxMs: number;
  readonly #failureStreaks = new Map<Address, number>();
  // Pauses in a row with no job served: a node that is always "busy" sits out ever longer, as a fault would.
  readonly #pauseStreaks = new Map<Address, number>();
  readonly #refusals = new NodeRefusals();
  readonly #efficiency: EfficiencyWatch;
  readonly #unsubscribe: () => void;
  readonly #attempts: Record<AttemptOutcomeLabel, number> = {
    succeeded: 0,
    node_fault: 0,
    refused: 0,
    busy: 0,
    cannot_load: 0,
    final: 0,
  };
  readonly #fairShare = new FairShare<Address>();
  readonly #demand = new PodDemand();

  constructor(options: DispatcherOptions) {
    this.#hub = options.hub;
    this.#scheduler = options.scheduler;
    this.#affinity = new PromptAffinity(options.affinityKeys);
    this.#catalog = options.catalog;
    this.#logger = options.logger;
    this.#acceptTimeoutMs = options.acceptTimeoutMs ?? DISPATCHER_DEFAULTS.acceptTimeoutMs;
    this.#paidCancelGraceMs = options.paidCancelGraceMs;
    this.#maxQueueMs = options.maxQueueMs ?? DISPATCHER_DEFAULTS.maxQueueMs;
    this.#suspendBaseMs = options.suspension?.baseMs ?? DISPATCHER_DEFAULTS.suspension.baseMs;
    this.#suspendMaxMs = options.suspension?.maxMs ?? DISPATCHER_DEFAULTS.suspension.maxMs;
    this.#efficiency = new EfficiencyWatch(options.scheduler, options.logger, options.paceCheck);
    this.#unsubscribe = feedScheduler(options.hub, options.scheduler, options.uptime);
  }

  async dispatch(
    job: DispatchJob,
    budget: DispatchBudget,
    hooks: DispatchHooks = {},
  ): Promise<DispatchResult> {
    checkBudget(budget);
    const pod = this.#catalog.byId(job.podId);
    if (pod === undefined) throw new FatalError('pod_not_found', { details: { podId: job.podId } });
    const tried = new Set<Address>();
    const progress: AttemptProgress = { chunks: 0 };
    let attempts = 0;
    // Refusals by busy nodes, which did no work: they take nothing from the budget of retries.
    const busyNodes = new Set<Address>();
    let busyRefusals = 0;
    let lastError: NeurinoError | undefined;
    // A node's refusal of the request, while another node is asked (see NodeRefusals).
    let refusal: { error: NeurinoError; nodes: Address[] } | undefined;
    for (;;) {
      const attemptId = attemptIdFor(job.jobId, attempts);
      let started: StartedAttempt;
      try {
        started = await this.#start(pod, job, budget, hooks, {
          attemptId,
          attempts,
          tried,
          progress,
          lastError,
          freeNow: refusal !== undefined,
        });
      } catch (error) {
        // No other node to ask: the refusal stands.
        if (refusal !== undefined && NO_OTHER_NODE.has(asNeurinoError(error).code)) throw refusal.error;
        throw error;
      }
      const { session, running, warm } = started;
      attempts++;
      const info = { attemptId, node: session.node };
      try {
        const outcome = await running;
        this.#attempts.succeeded++;
        this.#failureStreaks.delete(session.node);
        this.#pauseStreaks.delete(session.node);
        this.#refusals.upheld(session.node);
        if (refusal !== undefined) this.#overruled(refusal.nodes, job.podId);
        if (job.affinity !== undefined) this.#affinity.served(job.podId, job.affinity, session.node);
        // A cold node's time includes loading the model: it says nothing of its pace.
        if (warm) this.#efficiency.served(job, session, outcome);
        hooks.onAttemptEnd?.(info);
        return {
          attemptId,
          node: session.node,
          result: outcome.result,
          receipt: outcome.receipt,
          receiptHashes: outcome.receiptHashes,
          attempts,
        };
      } catch (thrown) {
        const error = asNeurinoError(thrown);
        hooks.onAttemptEnd?.({ ...info, error });
        this.#afterFailure(session, job.podId, error);
        lastError = error;
        const kind = classifyFailure(error);
        if (kind === 'busy' && progress.chunks === 0) {
          if (!mayAskAgain(session, job.podId, error, busyNodes)) tried.add(session.node);
          busyNodes.add(session.node);
          busyRefusals++;
          continue;
        }
        tried.add(session.node);
        if (kind === 'refused' && refusal !== undefined) {
          // A second node agrees: the request is at fault.
          for (const node of [...refusal.nodes, session.node]) this.#refusals.upheld(node);
          throw refusal.error;
        }
        if (kind === 'final') throw error;
        // The caller already has part of this stream; another node would send a different one.
        if (progress.chunks > 0) throw error;
        if (attempts - busyRefusals > budget.maxRetries) {
          if (refusal !== undefined || kind === 'refused') throw refusal?.error ?? error;
          throw new FatalError('retries_exhausted', {
            message: `all ${attempts} attempts failed; last: ${error.message}`,
            details: { attempts, lastCode: error.code },
            cause: error,
          });
        }
        if (kind === 'refused') refusal = { error, nodes: [session.node] };
      } finally {
        this.#demand.ended(job.podId);
        this.#fairShare.ended(job.payer);
      }
    }
  }

  /** The paces at which this router timed the node's jobs, by pod and kind (pace-check.ts). */
  pacesOf(node: Address): PaceReport[] {
    return this.#efficiency.pacesOf(node);
  }

  /** The pod's jobs running on nodes and waiting for a slot: what the autoscaler sizes it by. */
  demand(podId: Hex): PodLoad {
    return this.#demand.of(podId);
  }

  stats(): { inFlight: number; queued: number; attempts: Record<AttemptOutcomeLabel, number> } {
    return { ...this.#demand.total, attempts: { ...this.#attempts } };
  }

  /** Stops following the hub (the scheduler keeps its last state). */
  close(): void {
    this.#unsubscribe();
  }

  /**
   * Starts the next attempt on the best free node, waiting for a slot while capable nodes are busy. The
   * pick and the assignment happen in one synchronous step, so concurrent jobs never take the same slot.
   */
  async #start(
    pod: CatalogEntry,
    job: DispatchJob,
    budget: DispatchBudget,
    hooks: DispatchHooks,
    state: StartState,
  ): Promise<StartedAttempt> {
    const { signal } = hooks;
    const request: PickRequest = {
      podId: pod.podId,
      spec: pod.spec,
      frontend: job.frontend,
      exclude: state.tried,
      prefer: job.affinity === undefined ? undefined : this.#affinity.nodeFor(pod.podId, job.affinity),
    };
    const queueUntil = Math.min(budget.deadlineAt, Date.now() + (state.freeNow ? 0 : this.#maxQueueMs));
    // Made on the first wait only: most jobs find a free node at once.
    let ticket: WaitTicket | undefined;
    // Woken for a freed slot: whatever this job does next, the slot must not be left with nobody woken
    // for it, so the wake is handed on unless the job took the last free one.
    let woken = false;
    for (;;) {
      let started: StartedAttempt | undefined;
      try {
        started = this.#tryStart(pod, job, budget, hooks, state, request, queueUntil);
      } finally {
        if (woken) this.#scheduler.handOff(request);
      }
      if (started !== undefined) return started;
      this.#demand.waitStarted(job.podId);
      this.#fairShare.waitStarted(job.payer);
      try {
        const waits = [AbortSignal.timeout(Math.max(1, queueUntil - Date.now()))];
        if (signal !== undefined) waits.push(signal);
        ticket ??= { group: job.payer, rank: () => this.#fairShare.rank(job.payer) };
        woken = await this.#scheduler.waitForChange(request, AbortSignal.any(waits), ticket);
      } finally {
        this.#demand.waitEnded(job.podId);
        this.#fairShare.waitEnded(job.payer);
      }
    }
  }

  /** One try: the attempt started on the best free node, undefined to wait, or the reason to give up. */
  #tryStart(
    pod: CatalogEntry,
    job: DispatchJob,
    budget: DispatchBudget,
    hooks: DispatchHooks,
    state: StartState,
    request: PickRequest,
    queueUntil: number,
  ): StartedAttempt | undefined {
    const { deadlineAt } = budget;
    const { signal } = hooks;
    const { attemptId, attempts, lastError } = state;
    for (;;) {
      if (signal?.aborted) throw new FatalError('job_cancelled');
      if (Date.now() >= deadlineAt) throw deadlineBeforeNode(attempts, lastError);
      const pick = this.#scheduler.pick(request);
      const session = pick === undefined ? undefined : this.#hub.session(pick.node);
      if (session !== undefined && !session.closed) {
        hooks.onAttempt?.({ attemptId, node: session.node });
        const running = runAttempt(
          {
            session,
            assign: this.#assignment(job, attemptId, deadlineAt),
            domain: this.#hub.domain,
            acceptTimeoutMs: this.#acceptTimeoutMs,
            ...(this.#paidCancelGraceMs === undefined ? {} : { paidCancelGraceMs: this.#paidCancelGraceMs }),
            onChunk: hooks.onChunk,
            signal,
            logger: this.#logger,
          },
          state.progress,
        );
        this.#demand.started(job.podId);
        this.#fairShare.started(job.payer);
        // Awaited by the caller right away; this only keeps an early failure from counting as unhandled.
        running.catch(() => {});
        return { session, running, warm: pick?.warm === true };
      }
      if (pick !== undefined) {
        // The index outlived its session (should not happen): drop it and pick again.
        this.#scheduler.removeNode(pick.node);
        continue;
      }
      // A paused node is worth waiting for only when its pause ends while this job may still wait.
      if (this.#scheduler.capableNodes(request, queueUntil) === 0) {
        throw noNode(pod, attempts, lastError, this.#scheduler.soonestResume(request));
      }
      if (Date.now() >= queueUntil) {
        throw new RetryableError('no_capacity', { message: `every node serving ${pod.spec.name} is busy` });
      }
      return undefined;
    }
  }

  #assignment(job: DispatchJob, attemptId: Hex, deadlineAt: number): JobAssign {
    return {
      type: 'job.assign',
      jobId: job.jobId,
      attemptId,
      podId: job.podId,
      kind: job.kind,
      input: job.input,
      stream: job.stream,
      deadlineAt,
      payer: job.payer,
      ...(job.frontend === undefined ? {} : { frontend: job.frontend }),
      pricePerUnit: job.pricePerUnit,
    };
  }

  #afterFailure(session: MinerSession, podId: Hex, error: NeurinoError): void {
    const kind = classifyFailure(error);
    const node = session.node;
    this.#logger.info({ node, podId, code: error.code, kind }, 'attempt failed');
    switch (kind) {
      case 'final':
        this.#attempts.final++;
        return;
      case 'refused':
        this.#attempts.refused++;
        return;
      case 'busy':
        this.#attempts.busy++;
        if (error.code === 'rate_limited') this.#rateLimited(node, error);
        return;
      case 'cannot-load':
        this.#attempts.cannot_load++;
        this.#scheduler.markCannotLoad(node, podId);
        return;
      case 'node-fault':
        this.#attempts.node_fault++;
        this.#suspend(node, error.code);
    }
  }

  /** Nodes whose refusal another node just served: suspended when overruled too often in a row. */
  #overruled(nodes: readonly Address[], podId: Hex): void {
    for (const node of this.#refusals.overruled(nodes)) {
      this.#logger.warn({ node, podId, times: OVERRULED_IN_A_ROW }, 'node refusals overruled by other nodes');
      this.#suspend(node, 'refusal_overruled');
    }
  }

  /**
   * Pauses a rate-limited node, unless a suspension or pause already keeps it out longer. A refusal that
   * comes in while the node is paused was sent before the pause: it does not lengthen the streak.
   */
  #rateLimited(node: Address, error: NeurinoError): void {
    const until = this.#scheduler.suspendedUntil(node);
    const streak = Math.max(1, (this.#pauseStreaks.get(node) ?? 0) + (until === undefined ? 1 : 0));
    this.#pauseStreaks.set(node, streak);
    const ms = rateLimitedPauseMs(error, streak, this.#suspendMaxMs);
    if ((until ?? 0) >= Date.now() + ms) return;
    this.#scheduler.pause(node, ms);
    this.#logger.info({ node, ms, streak }, 'node paused: rate limited');
  }

  /**
   * Suspends a failing node, longer for each failure in a row. The failure of an attempt sent before the
   * node was suspended (a crash failing every job it ran) is the same incident: the suspension stands.
   */
  #suspend(node: Address, reason: string): void {
    const until = this.#scheduler.suspendedUntil(node);
    if (until !== undefined && !this.#scheduler.isPaused(node)) return;
    const streak = (this.#failureStreaks.get(node) ?? 0) + 1;
    this.#failureStreaks.set(node, streak);
    // A longer pause it already sits out (its upstream asked for more) is not cut short.
    const left = (until ?? 0) - Date.now();
    const ms = Math.max(suspensionMs(streak, this.#suspendBaseMs, this.#suspendMaxMs), left);
    this.#scheduler.suspend(node, ms);
    this.#logger.warn({ node, ms, streak, code: reason }, 'node suspended');
  }
}
