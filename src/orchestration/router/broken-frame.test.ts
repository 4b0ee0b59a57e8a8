import { describe, expect, it } from 'vitest';
import { attemptOfBrokenFrame } from './broken-frame.ts';

const attemptId = `0x${'Ab'.repeat(32)}`;

describe('attemptOfBrokenFrame', () => {
  it('names the attempt of a broken frame, in lower case, and whether it was the end', () => {
    const chunk = `{"type":"job.chunk","attemptId":"${attemptId}","seq":"not a number"}`;
    expect(attemptOfBrokenFrame(chunk)).toEqual({ attemptId: attemptId.toLowerCase(), ending: false });
    const result = `{ "type" : "job.result", "attemptId" : "${attemptId}", "usage": 7 }`;
    expect(attemptOfBrokenFrame(Buffer.from(result))).toEqual({
      attemptId: attemptId.toLowerCase(),
      ending: true,
    });
    const error = Buffer.from(`{"attemptId":"${attemptId}","type":"job.error","code":1}`);
    expect(attemptOfBrokenFrame([error.subarray(0, 20), error.subarray(20)])?.ending).toBe(true);
  });

  it('names none when the head holds no attempt id', () => {
    expect(attemptOfBrokenFrame('{"type":"heartbeat","slotsFree":-1}')).toBeUndefined();
    expect(attemptOfBrokenFrame(`{"attemptId":"0x12"}`)).toBeUndefined();
    // Past the first 4 KiB the id is not looked for: a frame is not read whole to blame an attempt.
    expect(attemptOfBrokenFrame(`{"pad":"${'x'.repeat(5000)}","attemptId":"${attemptId}"}`)).toBeUndefined();
  });
});
