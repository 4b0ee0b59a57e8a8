// OpenAI's logit_bias on the llama-cpp runtime, on the project's tiny model: ids of its own vocabulary,
// checked against it, and biases the sampler is held to (a ban, a near-certainty, the end of the answer).
import type { LlamaModel, Token } from 'node-llama-cpp';
import { beforeAll, describe, expect, it } from 'vitest';
import { PodError } from './errors.ts';
import type { LlamaCppRuntime } from './llama-cpp.ts';
import { vocabularySize } from './llama-token-ids.ts';
import { useTinyRuntime } from './testing/tiny-runtime.ts';
import type { ChatRequest } from './types.ts';

const tiny = useTinyRuntime('llama-logit-bias');
let runtime: LlamaCppRuntime;
let vocabulary: LlamaModel;

beforeAll(() => {
  ({ runtime, vocabulary } = tiny);
});

const hello: ChatRequest = { messages: [{ role: 'user', content: 'hello' }], max_tokens: 24 };
const biased = (entries: Array<[number, number]>) => Object.fromEntries(entries.map(([t, b]) => [`${t}`, b]));

describe('llama-cpp runtime: logit_bias', () => {
  it('bans tokens at -100: none of the greedy answer’s tokens come back', async () => {
    const greedy = await runtime.chat({ ...hello, temperature: 0 });
    const used = [...new Set(greedy.completionTokenIds ?? [])].filter(
      (t) => !vocabulary.isEogToken(t as Token),
    );
    expect(used.length).toBeGreaterThan(1);
    const banned = await runtime.chat({
      ...hello,
      temperature: 0,
      logit_bias: biased(used.map((token) => [token, -100])),
    });
    const again = (banned.completionTokenIds ?? []).filter((token) => used.includes(token));
    expect(again).toEqual([]);
    expect(banned.text).not.toBe(greedy.text);
  });

  it('all but forces a token at 100, whatever the seed, in chat and completions alike', async () => {
    const size = vocabularySize(vocabulary) ?? 0;
    const token = [...Array(size).keys()].find(
      (t) => !vocabulary.isEogToken(t as never) && /^[a-z]$/.test(vocabulary.detokenize([t as never])),
    );
    if (token === undefined) throw new Error('no plain letter token in the vocabulary');
    const letter = vocabulary.detokenize([token as never]);
    for (const seed of [1, 2]) {
      const chat = await runtime.chat({ ...hello, seed, max_tokens: 6, logit_bias: biased([[token, 100]]) });
      expect(chat.text).toBe(letter.repeat(6));
      const completion = await runtime.complete({
        prompt: 'Once',
        seed,
        max_tokens: 6,
        logit_bias: biased([[token, 100]]),
      });
      expect(completion.text).toBe(letter.repeat(6));
      expect(completion.finishReason).toBe('length');
    }
  });

  it('biases the end of generation too: at 100 the answer ends at once, at -100 it runs to max_tokens', async () => {
    const ends = [vocabulary.tokens.eos, vocabulary.tokens.eot].filter((t) => t !== null) as number[];
    expect(ends.length).toBeGreaterThan(0);
    const ended = await runtime.chat({ ...hello, seed: 3, logit_bias: biased(ends.map((t) => [t, 100])) });
    expect(ended).toMatchObject({ text: '', finishReason: 'stop' });
    expect(ended.usage?.completionTokens).toBe(1);
    // The tiny model ends some answers early on its own; banning its ends, none does.
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const running = await runtime.chat({
        ...hello,
        seed,
        max_tokens: 40,
        logit_bias: biased(ends.map((t) => [t, -100])),
      });
      expect(running.finishReason).toBe('length');
    }
  });

  it('refuses an id outside the model’s vocabulary, naming it, before generating', async () => {
    const size = vocabularySize(vocabulary) ?? 0;
    const error = await runtime.chat({ ...hello, logit_bias: biased([[size, 5]]) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PodError);
    expect(error).toMatchObject({ podCode: 'pod_bad_request', param: `logit_bias["${size}"]` });
    expect((error as Error).message).toContain(`ids 0 to ${size - 1}`);
  });

  it('refuses malformed biases by the schema: a key that is no id, a bias past ±100', async () => {
    for (const logit_bias of [{ abc: 1 }, { '-1': 1 }, { '01': 1 }, { '5': 101 }, { '5': -100.5 }]) {
      await expect(runtime.chat({ ...hello, logit_bias })).rejects.toMatchObject({
        podCode: 'pod_bad_request',
      });
    }
  });
});
