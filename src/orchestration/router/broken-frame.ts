// What a frame that failed to decode still says about its attempt, read from its head as text: which
// attempt it was about, and whether it was that attempt's end (a result or an error).
import type { Hex } from 'viem';
import type { RawFrame } from '../../protocol/codec.ts';

const ATTEMPT_ID = /"attemptId"\s*:\s*"(0x[0-9a-fA-F]{64})"/;
const ENDING_FRAME = /"type"\s*:\s*"job\.(?:result|error)"/;
/** Enough to find an attemptId near the start of any job frame. */
const HEAD_BYTES = 4096;

export interface BrokenAttemptFrame {
  attemptId: Hex;
  /** A `job.result` or `job.error`: the attempt ended on the node. */
  ending: boolean;
}

/** The attempt a broken frame was about, or undefined when its head names none. */
export function attemptOfBrokenFrame(raw: RawFrame): BrokenAttemptFrame | undefined {
  const head = frameHead(raw);
  const attemptId = ATTEMPT_ID.exec(head)?.[1]?.toLowerCase() as Hex | undefined;
  return attemptId === undefined ? undefined : { attemptId, ending: ENDING_FRAME.test(head) };
}

function frameHead(raw: RawFrame): string {
  if (typeof raw === 'string') return raw.slice(0, HEAD_BYTES);
  const buffer = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  return buffer.toString('utf8', 0, Math.min(buffer.length, HEAD_BYTES));
}
