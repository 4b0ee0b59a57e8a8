// What the miner sends must fit in one frame: the router closes a connection that sends more. Only a
// result can grow past it (a large batch with every token's log probabilities, say); it is sent as the
// attempt's error instead, the request's fault, as it asked for more than a node can hand over.
import { encodeMessage, fitsInFrame, frameMiB, MAX_FRAME_BYTES } from '../../protocol/codec.ts';
import type { JobError, MinerMessage } from '../../protocol/messages/index.ts';

/**
 * The frame for `message`, and the error sent instead when it is a result too large for one; throws for
 * anything else too large (a bug: no other message can be).
 */
export function deliverableFrame(
  message: MinerMessage,
  maxBytes = MAX_FRAME_BYTES,
): { frame: string; instead?: JobError } {
  const frame = encodeMessage(message);
  if (fitsInFrame(frame, maxBytes)) return { frame };
  if (message.type !== 'job.result') {
    throw new RangeError(`a ${message.type} frame of ${frameMiB(frame)} is past the frame limit`);
  }
  const instead: JobError = {
    type: 'job.error',
    attemptId: message.attemptId,
    code: 'invalid_request',
    retryable: false,
    message: `The answer is ${frameMiB(frame)}, more than the ${maxBytes / 1024 / 1024} MiB one message may hold: ask for less (fewer prompts or choices, fewer tokens, fewer log probabilities)`,
  };
  return { frame: encodeMessage(instead), instead };
}
