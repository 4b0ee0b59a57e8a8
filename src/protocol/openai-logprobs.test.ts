import { describe, expect, it } from 'vitest';
import { completionLogprobs, echoedCompletionLogprobs } from './openai-logprobs.ts';

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

  it('writes null for an echoed prompt token that nothing comes before, and counts offsets on', () => {
    const prompt = {
      text: 'ab',
      entries: [
        { token: 'a', logprob: null, bytes: [97], top: null },
        { token: 'b', logprob: -2, bytes: [98], top: [{ token: 'c', logprob: -0.1, bytes: [99] }] },
      ],
    };
    const legacy = echoedCompletionLogprobs(prompt, [{ token: '!', logprob: -1, bytes: [33], top: [] }]);
    expect(legacy).toEqual({
      tokens: ['a', 'b', '!'],
      token_logprobs: [null, -2, -1],
      top_logprobs: [null, { c: -0.1, b: -2 }, { '!': -1 }],
      text_offset: [0, 1, 2],
    });
  });

  it("counts the answer's offsets from the prompt as written, whatever its tokens spell", () => {
    // A tokenizer's spacing: the prompt's tokens read ' ab' where the caller wrote 'ab'.
    const prompt = { text: 'ab', entries: [{ token: ' ab', logprob: -1, bytes: [32, 97, 98], top: [] }] };
    const legacy = echoedCompletionLogprobs(prompt, [{ token: 'c', logprob: -1, bytes: [99], top: [] }]);
    expect(legacy.text_offset).toEqual([0, 2]);
  });
});
