// Prompts and embedding inputs given as token ids on a real llama.cpp model (the tiny generated one): the
// same answer, scores and vectors as the text they spell, BOS taken as the caller gives it, an echo one
// entry per id sent (its text written back), and an id outside the vocabulary refused by name before
// llama.cpp reads it.
import type { LlamaModel, Token } from 'node-llama-cpp';
import { beforeAll, describe, expect, it } from 'vitest';
import { PodBadRequestError } from './errors.ts';
import type { LlamaCppRuntime } from './llama-cpp.ts';
import { vocabularySize } from './llama-token-ids.ts';
import { useTinyRuntime } from './testing/tiny-runtime.ts';

const tiny = useTinyRuntime('llama-token-ids');
let runtime: LlamaCppRuntime;
let vocabulary: LlamaModel;
let bos: number;

beforeAll(() => {
  ({ runtime, vocabulary } = tiny);
  if (vocabulary.tokens.bos === null) throw new Error('the tiny model has a BOS token');
  bos = vocabulary.tokens.bos;
});

const text = 'the GPU node and the pod';
const idsOf = (spelled: string) => [...vocabulary.tokenize(spelled, true)] as number[];

describe('token ids on llama-cpp pods', () => {
  it('answers token ids as the text they spell, BOS as the caller gives it', async () => {
    const asked = { max_tokens: 8, temperature: 0 };
    const fromText = await runtime.complete({ ...asked, prompt: text });
    const fromIds = await runtime.complete({ ...asked, prompt: [bos, ...idsOf(text)] });
    expect(fromIds.text).toBe(fromText.text);
    expect(fromIds.usage?.promptTokens).toBe(fromText.usage?.promptTokens);
    // Without BOS the model reads one token fewer: nothing is added to what the caller sent.
    const bare = await runtime.complete({ ...asked, prompt: idsOf(text) });
    expect(bare.usage?.promptTokens).toBe((fromText.usage?.promptTokens ?? 0) - 1);
  });

  it('echoes a prompt of ids one entry per id sent, BOS too, scored as the text is', async () => {
    const asked = { echo: true, logprobs: 2, max_tokens: 0 };
    const fromText = await runtime.complete({ ...asked, prompt: text });
    const ids = [bos, ...idsOf(text)];
    const fromIds = await runtime.complete({ ...asked, prompt: ids });
    const bosText = vocabulary.detokenize([bos as Token], true);
    expect(bosText).not.toBe('');
    expect(fromIds.promptText).toBe(bosText + text);
    expect(fromText.promptText).toBeUndefined();
    // As a harness indexes them: entry i is id i; the BOS has nothing before it.
    expect(fromIds.promptLogprobs).toHaveLength(ids.length);
    expect(fromIds.promptLogprobs?.[0]).toMatchObject({ token: bosText, logprob: null, top: null });
    expect(fromIds.promptLogprobs?.slice(1)).toEqual(fromText.promptLogprobs);
    // Without BOS, the first id sent has nothing before it.
    const bare = await runtime.complete({ ...asked, prompt: idsOf(text) });
    expect(bare.promptText).toBe(text);
    expect(bare.promptLogprobs?.[0]).toMatchObject({ logprob: null, top: null });
    expect(bare.promptLogprobs?.slice(1).every((entry) => entry.logprob !== null)).toBe(true);
    // Without echo, no text is written back.
    expect((await runtime.complete({ prompt: idsOf(text), max_tokens: 1 })).promptText).toBeUndefined();
  });

  it('embeds token ids as the text they spell', async () => {
    const [fromText] = (await runtime.embed({ input: text })).vectors;
    const fromIds = await runtime.embed({ input: [idsOf(text), idsOf('hello')] });
    expect(fromIds.vectors).toHaveLength(2);
    expect(fromIds.vectors[0]?.map((x) => x.toFixed(5))).toEqual(fromText?.map((x) => x.toFixed(5)));
  });

  it('refuses an id outside the vocabulary by its place, before llama.cpp reads it', async () => {
    const size = vocabularySize(vocabulary) ?? 0;
    expect(size).toBeGreaterThan(256);
    for (const [request, param] of [
      [runtime.complete({ prompt: [bos, 5, size] }), 'prompt[2]'],
      [runtime.complete({ prompt: [2 ** 31 - 1] }), 'prompt[0]'],
      [runtime.embed({ input: [5, size + 10] }), 'input[1]'],
      [runtime.embed({ input: [[5], [6, 7, size]] }), 'input[1][2]'],
    ] as const) {
      const error = await request.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, param).toBeInstanceOf(PodBadRequestError);
      expect(error, param).toMatchObject({ param, code: 'invalid_request' });
      expect((error as Error).message, param).toMatch(/not in the model's vocabulary/);
    }
    // Still serving.
    expect((await runtime.complete({ prompt: [bos, 5], max_tokens: 1 })).usage?.promptTokens).toBe(2);
  });
});
