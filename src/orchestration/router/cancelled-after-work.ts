// A job stopped while a node ran it, because its caller went away or because its deadline passed after
// output had reached the caller, and whose node handed over the work done until then (a signed result of
// the partial output, verified like any other): it ends cancelled, and that work is paid for. The error
// the dispatcher rejects with, so the gateway can charge its receipt.
import { FatalError } from '../../protocol/errors.ts';
import type { AttemptOutcome } from './attempt-runner.ts';

/** Who stopped the job: its caller, going away, or its deadline, after output had reached the caller. */
export type StoppedBy = 'client' | 'deadline';

export class CancelledAfterWork extends FatalError {
  override name = 'CancelledAfterWork';
  /** The node's verified result for the work done, with its receipt. */
  readonly outcome: AttemptOutcome;

  constructor(outcome: AttemptOutcome, stoppedBy: StoppedBy = 'client') {
    super(
      stoppedBy === 'client' ? 'job_cancelled' : 'deadline_exceeded',
      stoppedBy === 'client'
        ? { message: 'Job cancelled by the client; the work done until then is charged' }
        : { message: 'Deadline exceeded after output was streamed; the work done until then is charged' },
    );
    this.outcome = outcome;
  }
}
