import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../protocol/codec.ts';
import type { JobResult } from '../../protocol/messages/index.ts';
import { deliverableFrame } from './deliverable-frame.ts';

const attemptId = `0x${'1'.repeat(64)}` as const;

/** A result whose output holds `text`; the rest as a miner fills it in. */
function result(text: string): JobResult {
  return {
    type: 'job.result',
    attemptId,
    output: { choices: [{ text, finishReason: 'stop' }] },
    usage: { inputTokens: 1, outputTokens: 1 },
    gpuMs: 1,
    vramMiB: 1,
    computeUnits: 1n,
    resultHash: `0x${'2'.repeat(64)}`,
    startedAt: 1,
    finishedAt: 2,
    signature: `0x${'3'.repeat(130)}`,
  } as JobResult;
}

describe('deliverable frames', () => {
  it('sends what fits as it is', () => {
    const small = result('hello');
    expect(deliverableFrame(small, 4096)).toEqual({ frame: encodeMessage(small) });
  });

  it("sends a result past the limit as the attempt's error: the request asked for more than fits", () => {
    const { frame, instead } = deliverableFrame(result('x'.repeat(5000)), 4096);
    expect(JSON.parse(frame)).toEqual(instead);
    expect(instead).toMatchObject({
      type: 'job.error',
      attemptId,
      code: 'invalid_request',
      retryable: false,
    });
    expect(instead?.message).toMatch(/ask for less/);
    // Counted in bytes: characters of several bytes each fill it sooner.
    expect(deliverableFrame(result('€'.repeat(1300)), 4096).instead?.type).toBe('job.error');
    expect(deliverableFrame(result('e'.repeat(1300)), 4096).instead).toBeUndefined();
  });

  it('throws for any other message past the limit, which no miner builds', () => {
    const chunk = { type: 'job.chunk', attemptId, seq: 0, delta: 'x'.repeat(5000) } as const;
    expect(() => deliverableFrame(chunk, 4096)).toThrow(/job\.chunk frame/);
  });
});
