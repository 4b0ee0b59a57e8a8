import { describe, expect, it } from 'vitest';
import { bestOf } from './best-of.ts';

const entry = (logprob: number) => ({ token: 'x', logprob, bytes: [120], top: [] });
const choice = (text: string, logprobs: number[]) => ({ text, logprobs: logprobs.map(entry) });

describe('bestOf', () => {
  it("answers each prompt's n likeliest choices per token, best first, in prompt order", () => {
    const written = [
      // First prompt: means -2, -0.5, -1.
      choice('a', [-1, -3]),
      choice('b', [-0.5]),
      choice('c', [-1, -1, -1]),
      // Second prompt: no tokens ranks last; equal means keep their order.
      choice('d', []),
      choice('e', [-2]),
      choice('f', [-1, -3]),
    ];
    expect(bestOf(written, 3, 2, true).map((c) => c.text)).toEqual(['b', 'c', 'e', 'f']);
    expect(bestOf(written, 3, 1, true).map((c) => c.text)).toEqual(['b', 'e']);
  });

  it('leaves the log probabilities out unless they were asked for', () => {
    const [best] = bestOf([choice('a', [-1]), choice('b', [-0.1])], 2, 1, false);
    expect(best).toEqual({ text: 'b' });
    expect(bestOf([choice('a', [-1])], 1, 1, true)[0]?.logprobs).toHaveLength(1);
  });
});
