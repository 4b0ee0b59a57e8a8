// How a response whose job failed or was cancelled ends, in the background or streamed to its client:
// failed (or cancelled) with the error's code and message, and the work a cancel was charged for.
import { CancelledAfterWork } from '../../../orchestration/router/cancelled-after-work.ts';
import { toOpenAIError } from '../../../protocol/errors.ts';
import type { TokenUsage } from '../../../protocol/openai-responses.ts';
import {
  outputItems,
  type ResponseAnswer,
  type ResponseEnvelope,
  type ResponseObject,
  responseError,
  responseObject,
} from '../../../protocol/openai-responses-api-output.ts';
import type { ResponseEventWriter } from '../../../protocol/openai-responses-api-stream.ts';
import { answeredUsage, cachedTokensSaid, stoppedAnswer } from '../pod-output.ts';

/**
 * A job's failure (or its cancel) as the response's end, with the error's code and message; and, when its
 * node handed over the work done until then (a cancel while it ran), that output and its usage, which
 * were charged. Streamed (`writer`), the items it left open are done as `incomplete`; unpaid, they are what
 * the client was sent and kept no usage.
 */
export function endedEarly(
  envelope: ResponseEnvelope,
  error: unknown,
  writer: ResponseEventWriter | undefined,
): ResponseObject {
  const { code, message } = toOpenAIError(error).error;
  const status = code === 'job_cancelled' ? 'cancelled' : 'failed';
  const failure = { code: code ?? 'internal_error', message };
  const done = workDone(error);
  if (done === undefined) return responseObject(envelope, status, writer?.cut() ?? [], undefined, failure);
  // Cut short: its items are incomplete, as those of an answer cut by max_output_tokens.
  const cut: ResponseAnswer = { ...done.answer, finishReason: 'length' };
  const whole =
    writer === undefined
      ? responseObject(envelope, 'incomplete', outputItems(cut), done.usage)
      : writer.finish(cut, done.usage);
  return { ...whole, status, error: responseError(failure), incomplete_details: null };
}

/** The answer a node handed over for the work done before its job was stopped, and its usage. */
function workDone(error: unknown): { answer: ResponseAnswer; usage: TokenUsage } | undefined {
  if (!(error instanceof CancelledAfterWork)) return undefined;
  const { output, usage } = error.outcome.result;
  // An output not of that shape was charged on its verified receipt all the same; only no text is shown.
  const answer = stoppedAnswer(output);
  return answer === undefined ? undefined : { answer, usage: answeredUsage(usage, cachedTokensSaid(output)) };
}
