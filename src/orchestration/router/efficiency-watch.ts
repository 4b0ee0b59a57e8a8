import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import type { JobKind } from '../../protocol/pod-spec.ts';
import type { AttemptOutcome } from './attempt-runner.ts';
import type { MinerSession } from './miner-session.ts';
import { PaceCheck, type PaceCheckOptions, type PaceReport } from './pace-check.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * Times every served job (PaceCheck): a node compared with a peer ends its probation (its claim counts in
 * full: efficiency-ranking.ts), and a node whose pace belies its announced efficiency is ranked by the
 * figure its pace implies, the operator's log told when that starts and ends.
 */
export class EfficiencyWatch {
  readonly #pace: PaceCheck;
  readonly #scheduler: Scheduler;
  readonly #logger: Logger;

  constructor(scheduler: Scheduler, logger: Logger, options: PaceCheckOptions = {}) {
    this.#pace = new PaceCheck({ ...options, onTimed: (node) => scheduler.markTimed(node) });
    this.#scheduler = scheduler;
    this.#logger = logger;
  }

  /** The node's timed paces (GET /nodes). */
  pacesOf(node: Address): PaceReport[] {
    return this.#pace.pacesOf(node);
  }

  served(job: { podId: Hex; kind: JobKind }, session: MinerSession, outcome: AttemptOutcome): void {
    const claimed = session.capabilities?.efficiency;
    if (claimed === undefined) return;
    const verdict = this.#pace.observe({
      podId: job.podId,
      kind: job.kind,
      node: session.node,
      claimed,
      inputTokens: outcome.receipt.inputTokens,
      outputTokens: outcome.receipt.outputTokens,
      elapsedMs: outcome.elapsedMs,
    });
    if (verdict === undefined) return;
    this.#scheduler.capEfficiency(verdict.node, verdict.cap);
    const figures = {
      node: verdict.node,
      podId: verdict.podId,
      kind: verdict.kind,
      announced: claimed,
      implied: round(verdict.implied),
      pace: round(verdict.pace),
    };
    if (verdict.cap === undefined) {
      this.#logger.info(figures, 'node keeps pace with the efficiency it announces again: ranked by it');
    } else if (verdict.previous !== undefined) {
      this.#logger.debug(
        { ...figures, rankedBy: round(verdict.cap) },
        'node ranked by a new implied efficiency',
      );
    } else {
      this.#logger.warn(
        { ...figures, rankedBy: round(verdict.cap) },
        `node announces ${claimed} but serves at a pace its peers reach with ${round(verdict.implied)}: ranked by that`,
      );
    }
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
