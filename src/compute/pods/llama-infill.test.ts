// Fill in the middle (a completion with a `suffix`) on the llama-cpp runtime: the tiny model built with
// fill-in-the-middle tokens, as code models have them, and the plain one, which has none.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny-model.ts';
import { FIM_TOKENS } from '../model/tiny-vocabulary.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';

let dir: string;
let coder: LlamaCppRuntime;
let plain: LlamaCppRuntime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-infill-'));
  const coderPath = (await writeTinyModel(join(dir, 'coder.gguf'), { fim: true })).path;
  const plainPath = (await writeTinyModel(join(dir, 'plain.gguf'))).path;
  coder = new LlamaCppRuntime({ modelPath: coderPath, slots: 1 });
  plain = new LlamaCppRuntime({ modelPath: plainPath, slots: 1 });
  await Promise.all([coder.load(), plain.load()]);
});

afterAll(async () => {
  await Promise.all([coder?.unload(), plain?.unload()]);
  await rm(dir, { recursive: true, force: true });
});

const prefix = 'def hello():\n    ';
const suffix = '\n    return node\n';

describe('llama-cpp runtime: fill in the middle', () => {
  it("writes the middle of prefix and suffix around the model's own tokens, streamed alike", async () => {
    const request = { prompt: prefix, suffix, seed: 7, max_tokens: 12 };
    const deltas: string[] = [];
    const filled = await coder.complete(request, { onDelta: (d) => deltas.push(d) });
    // The same prompt spelled out with the tokens, prefix-suffix-middle as llama.cpp's server writes it.
    const spelled = await coder.complete({
      prompt: `${FIM_TOKENS.prefix}${prefix}${FIM_TOKENS.suffix}${suffix}${FIM_TOKENS.middle}`,
      seed: 7,
      max_tokens: 12,
    });
    expect(filled.completionTokenIds).toEqual(spelled.completionTokenIds);
    expect(filled.text).toBe(spelled.text);
    expect(filled.usage?.promptTokens).toBe(spelled.usage?.promptTokens);
    expect(deltas.join('')).toBe(filled.text);
    // Without the suffix the prompt is the prefix alone: three tokens and the suffix's fewer.
    const unfilled = await coder.complete({ prompt: prefix, seed: 7, max_tokens: 12 });
    expect(unfilled.usage?.promptTokens).toBeLessThan((filled.usage?.promptTokens ?? 0) - 3);
  });

  it("reads an empty suffix as none, as OpenAI's", async () => {
    const none = await plain.complete({ prompt: prefix, suffix: '', seed: 2, max_tokens: 4 });
    const absent = await plain.complete({ prompt: prefix, seed: 2, max_tokens: 4 });
    expect(none.completionTokenIds).toEqual(absent.completionTokenIds);
  });

  it('refuses a suffix on a model without fill-in-the-middle tokens, naming the field', async () => {
    await expect(plain.complete({ prompt: prefix, suffix, max_tokens: 4 })).rejects.toMatchObject({
      podCode: 'pod_unsupported',
      code: 'unsupported_parameter',
      param: 'suffix',
    });
  });
});
