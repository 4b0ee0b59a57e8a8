import { describe, expect, it } from 'vitest';
import { completionLogprobs } from './openai-logprobs.ts';

describe('completionLogprobs', () => {
  it('counts text offsets in characters, a character split over tokens counted once it is whole', () => {
    const euro = [0xe2, 0x82, 0xac];
    const entry = (token: string, bytes: number[]) => ({ token, logprob: -1, bytes, top: [] });
    const legacy = completionLogprobs([
      entry('a', [97]),
      entry('bytes:\\xe2', euro.slice(0, 1)),
      entry('bytes:\\x82\\xac', euro.slice(1)),
      entry('b', [98]),
    ]);
    expect(legacy.text_offset).toEqual([0, 1, 1, 2]);
    expect(legacy.top_logprobs).toEqual([
      { a: -1 },
      { 'bytes:\\xe2': -1 },
      { 'bytes:\\x82\\xac': -1 },
      { b: -1 },
    ]);
  });

  it('keeps the likelier of two alternatives written alike', () => {
    const legacy = completionLogprobs([
      {
        token: 'x',
        logprob: -3,
        bytes: [120],
        top: [
          { token: '', logprob: -0.5, bytes: [] },
          { token: '', logprob: -1.5, bytes: [] },
        ],
      },
    ]);
    expect(legacy.top_logprobs).toEqual([{ '': -0.5, x: -3 }]);
  });
});
