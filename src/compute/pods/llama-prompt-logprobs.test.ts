// A completion's echo with logprobs on a real llama.cpp model (the tiny generated one): every token of
// the prompt scored under the model's own distribution, the entries' bytes making the prompt's text, the
// same numbers the model sampled an answer from, the same answer after scoring as without it.
import { beforeAll, describe, expect, it } from 'vitest';
import { PodAbortedError, PodBadRequestError } from './errors.ts';
import type { LlamaCppRuntime } from './llama-cpp.ts';
import { useTinyRuntime } from './testing/tiny-runtime.ts';
import type { PromptTokenLogprob } from './types.ts';

const tiny = useTinyRuntime('llama-prompt-logprobs');
let runtime: LlamaCppRuntime;
beforeAll(() => {
  runtime = tiny.runtime;
});

const prompt = 'the GPU node is a pod of Neurino, é€ and';

function textOf(entries: readonly PromptTokenLogprob[]): string {
  return Buffer.from(entries.flatMap((entry) => entry.bytes)).toString('utf8');
}

describe('prompt log probabilities (echo) on llama-cpp pods', () => {
  it('scores every token of the prompt after BOS, the alternatives most likely first', async () => {
    const result = await runtime.complete({ prompt, echo: true, logprobs: 3, max_tokens: 0 });
    expect(result).toMatchObject({ text: '', finishReason: 'length', logprobs: [] });
    expect(result.usage?.completionTokens).toBe(0);
    const entries = result.promptLogprobs ?? [];
    expect(textOf(entries)).toBe(prompt);
    // One entry per prompt token after the BOS the pod added.
    expect(entries.length).toBe((result.usage?.promptTokens ?? 0) - 1);
    for (const entry of entries) {
      // The tiny model starts with BOS: even the first token has something before it.
      if (entry.logprob === null) throw new Error('every token is scored');
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top.length).toBe(3);
      const tops = entry.top.map((alt) => alt.logprob);
      expect(tops).toEqual([...tops].sort((a, b) => b - a));
      expect(entry.logprob).toBeLessThanOrEqual((tops[0] ?? 0) + 1e-9);
    }
    // A character split over byte tokens: each token's own bytes, as a sampled answer shows them.
    expect(entries.some((entry) => entry.token.startsWith('bytes:'))).toBe(true);
  });

  it('shows the special tokens a raw prompt spells by their text, which the prompt holds', async () => {
    const template = '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n';
    const result = await runtime.complete({ prompt: template, echo: true, logprobs: 0, max_tokens: 0 });
    const entries = result.promptLogprobs ?? [];
    expect(textOf(entries)).toBe(template);
    expect(entries.map((entry) => entry.token)).toContain('<|im_start|>');
  });

  it('gives the probabilities the model samples from: an answer scored again as a prompt', async () => {
    const asked = { prompt: 'the node', max_tokens: 12, temperature: 1, seed: 11, logprobs: 0 };
    const answer = await runtime.complete(asked);
    const generated = answer.logprobs ?? [];
    expect(generated.length).toBeGreaterThan(4);
    const echoed = await runtime.complete({
      prompt: asked.prompt + answer.text,
      echo: true,
      logprobs: 0,
      max_tokens: 0,
    });
    const scored = echoed.promptLogprobs ?? [];
    expect(textOf(scored)).toBe(asked.prompt + answer.text);
    // Tokenized again, the text may join differently where prompt and answer meet: compared from the end.
    let compared = 0;
    for (let back = 1; back <= generated.length; back++) {
      const mine = generated[generated.length - back];
      const again = scored[scored.length - back];
      if (mine === undefined || again === undefined || mine.token !== again.token) break;
      expect(again.logprob).toBeCloseTo(mine.logprob, 3);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(generated.length - 2);
  });

  it('answers after scoring as it answers without it, and scores the same prompt the same twice', async () => {
    const asked = { prompt, max_tokens: 10, temperature: 0 };
    const plain = await runtime.complete(asked);
    const first = await runtime.complete({ ...asked, echo: true, logprobs: 1 });
    const second = await runtime.complete({ ...asked, echo: true, logprobs: 1 });
    expect(first.text).toBe(plain.text);
    expect(first.completionTokenIds).toEqual(plain.completionTokenIds);
    expect(second.promptLogprobs).toEqual(first.promptLogprobs);
    // Scored from an empty slot, nothing was taken from the cache.
    expect(second.usage?.cachedPromptTokens).toBeUndefined();
  });

  it('scores nothing without logprobs, and nothing without echo', async () => {
    const echoOnly = await runtime.complete({ prompt, echo: true, max_tokens: 2 });
    expect(echoOnly.promptLogprobs).toBeUndefined();
    // Seeded: unseeded, the first token drawn may end the answer, which then has no entries.
    const logprobsOnly = await runtime.complete({ prompt, logprobs: 2, max_tokens: 2, seed: 1 });
    expect(logprobsOnly.promptLogprobs).toBeUndefined();
    expect(logprobsOnly.completionTokenIds?.length).toBeGreaterThan(0);
    expect(logprobsOnly.logprobs).toHaveLength(logprobsOnly.completionTokenIds?.length ?? -1);
  });

  it('refuses echo with a suffix, and a prompt longer than the context before scoring it', async () => {
    await expect(runtime.complete({ prompt, echo: true, suffix: 'x', logprobs: 1 })).rejects.toMatchObject({
      constructor: PodBadRequestError,
      param: 'echo',
    });
    const long = 'the '.repeat(4096);
    await expect(
      runtime.complete({ prompt: long, echo: true, logprobs: 0, max_tokens: 0 }),
    ).rejects.toBeInstanceOf(PodBadRequestError);
    // The slot still serves.
    expect(
      (await runtime.complete({ prompt, echo: true, logprobs: 0, max_tokens: 0 })).promptLogprobs,
    ).toBeDefined();
  });

  it('stops when aborted before scoring, and keeps serving', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      runtime.complete({ prompt, echo: true, logprobs: 0, max_tokens: 0 }, { signal: controller.signal }),
    ).rejects.toBeInstanceOf(PodAbortedError);
    const again = await runtime.complete({ prompt, echo: true, logprobs: 0, max_tokens: 0 });
    expect(textOf(again.promptLogprobs ?? [])).toBe(prompt);
  });
});
