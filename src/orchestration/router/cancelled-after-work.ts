// A job whose caller went away while a node ran it, and whose node handed over the work done until then
// (a signed result of the partial output, verified like any other): it ends cancelled, and that work is
// paid for. The error the dispatcher rejects with, so the gateway can charge its receipt.
import { FatalError } from '../../protocol/errors.ts';
import type { AttemptOutcome } from './attempt-runner.ts';

export class CancelledAfterWork extends FatalError {
  override name = 'CancelledAfterWork';
  /** The node's verified result for the work done, with its receipt. */
  readonly outcome: AttemptOutcome;

  constructor(outcome: AttemptOutcome) {
    super('job_cancelled', { message: 'Job cancelled by the client; the work done until then is charged' });
    this.outcome = outcome;
  }
}
