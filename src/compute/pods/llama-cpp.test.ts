import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlamaModel, Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny-model.ts';
import {
  PodAbortedError,
  PodBadRequestError,
  PodError,
  PodLoadFailedError,
  PodNotLoadedError,
  PodUnsupportedError,
} from './errors.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';
import { sharedLlama } from './llama-instance.ts';
import { TokenTextDecoder } from './token-text-decoder.ts';
import type { ChatRequest } from './types.ts';

let dir: string;
let modelPath: string;
let runtime: LlamaCppRuntime;
/** The same file loaded on its own, tokenizer only: an independent count to compare with. */
let vocabulary: LlamaModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-cpp-runtime-'));
  modelPath = (await writeTinyModel(join(dir, 'neurino-tiny.gguf'))).path;
  runtime = new LlamaCppRuntime({ modelPath, slots: 2 });
  await runtime.load();
  const llama = await sharedLlama({ gpu: false, maxThreads: 1 });
  vocabulary = await llama.loadModel({ modelPath, vocabOnly: true });
});

afterAll(async () => {
  await runtime?.unload();
  await vocabulary?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const hello: ChatRequest = { messages: [{ role: 'user', content: 'hello' }] };

/** Results carry plain numbers; node-llama-cpp brands its token ids. */
const asTokens = (ids: readonly number[] | undefined) => (ids ?? []) as readonly Token[];

/** ChatML as the model's template renders it, tokenized with special tokens, after BOS. */
function chatmlTokens(messages: Array<{ role: string; content: string }>): number[] {
  const text = messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('');
  const bos = vocabulary.tokens.bos;
  if (bos === null) throw new Error('the tiny model has a BOS token');
  return [bos, ...vocabulary.tokenize(`${text}<|im_start|>assistant\n`, true)];
}

async function expectPodError(promise: Promise<unknown>, podCode: string, retryable: boolean) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PodError);
  expect(error).toMatchObject({ podCode, retryable });
  return error as PodError;
}

describe('llama-cpp runtime: generation', () => {
  it('reports itself warm with the model name, context size and the size of its embeddings', () => {
    expect(runtime.info()).toEqual({
      runtime: 'llama-cpp',
      model: 'neurino-tiny',
      contextSize: 1024,
      warm: true,
      slots: 2,
      activeJobs: 0,
      embeddingSize: 64,
    });
  });

  it('chats, counting prompt tokens exactly as the model tokenizes the ChatML prompt', async () => {
    const messages = [
      { role: 'system' as const, content: 'the GPU node' },
      { role: 'user' as const, content: 'hello é' },
    ];
    const result = await runtime.chat({ messages, seed: 3, max_tokens: 24 });
    expect(result.model).toBe('neurino-tiny');
    expect(result.usage?.promptTokens).toBe(chatmlTokens(messages).length);
    expect(result.usage?.completionTokens).toBe(result.completionTokenIds?.length);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.text).not.toContain('<|im_');
  });

  it('completes a prompt: BOS plus the prompt tokens, and text that detokenizes from the sampled tokens', async () => {
    const prompt = 'the GPU node';
    const result = await runtime.complete({ prompt, seed: 11, max_tokens: 16 });
    // Of them, cachedPromptTokens those an earlier job left in the slot (its BOS at least, here).
    expect(result.usage).toMatchObject({
      promptTokens: 1 + vocabulary.tokenize(prompt).length,
      completionTokens: 16,
    });
    expect(result.finishReason).toBe('length');
    expect(vocabulary.detokenize(asTokens(result.completionTokenIds))).toBe(result.text);
  });

  it('stops at max_tokens (or max_completion_tokens) with finishReason length', async () => {
    const a = await runtime.chat({ ...hello, seed: 1, max_tokens: 5 });
    expect(a).toMatchObject({ finishReason: 'length', usage: { completionTokens: 5 } });
    const b = await runtime.chat({ ...hello, seed: 1, max_tokens: 50, max_completion_tokens: 3 });
    expect(b).toMatchObject({ finishReason: 'length', usage: { completionTokens: 3 } });
  });

  it('ends a turn by itself: finishReason stop on an end-of-generation token, which is counted', async () => {
    let stopped: Awaited<ReturnType<LlamaCppRuntime['chat']>> | undefined;
    for (let seed = 0; seed < 40 && stopped === undefined; seed++) {
      const result = await runtime.chat({ ...hello, seed, max_tokens: 400 });
      if (result.finishReason === 'stop') stopped = result;
    }
    expect(stopped).toBeDefined();
    const ids = asTokens(stopped?.completionTokenIds);
    expect(vocabulary.isEogToken(ids.at(-1))).toBe(true);
    expect(stopped?.usage?.completionTokens).toBe(ids.length);
    expect(stopped?.text).toBe(vocabulary.detokenize(ids.slice(0, -1)));
  });

  it('repeats exactly for the same seed and parameters, and differs for another seed', async () => {
    const request = { ...hello, seed: 42, temperature: 0.9, top_p: 0.95, max_tokens: 40 };
    const a = await runtime.chat(request);
    const b = await runtime.chat(request);
    const c = await runtime.chat({ ...request, seed: 43 });
    expect(b.text).toBe(a.text);
    expect(b.completionTokenIds).toEqual(a.completionTokenIds);
    expect(c.text).not.toBe(a.text);
  });

  it('is greedy at temperature 0, whatever the seed', async () => {
    const a = await runtime.complete({ prompt: 'the', temperature: 0, max_tokens: 20, seed: 1 });
    const b = await runtime.complete({ prompt: 'the', temperature: 0, max_tokens: 20, seed: 2 });
    expect(b.text).toBe(a.text);
  });

  it('gives concurrent jobs the same results as sequential ones', async () => {
    const requests = [1, 2, 3, 4].map((seed) => ({ ...hello, seed, max_tokens: 30 }));
    const sequential: string[] = [];
    for (const request of requests) sequential.push((await runtime.chat(request)).text);
    const concurrent = await Promise.all(requests.map((request) => runtime.chat(request)));
    expect(concurrent.map((r) => r.text)).toEqual(sequential);
    expect(runtime.info().activeJobs).toBe(0);
  });

  it('streams deltas that concatenate to the final text, about one per token', async () => {
    const deltas: string[] = [];
    const result = await runtime.chat(
      { ...hello, seed: 5, max_tokens: 40 },
      { onDelta: (d) => deltas.push(d) },
    );
    expect(deltas.join('')).toBe(result.text);
    expect(deltas.every((d) => d.length > 0)).toBe(true);
    expect(deltas.length).toBeGreaterThan(10);
    expect(deltas.length).toBeLessThanOrEqual(40);
  });

  it('cuts the text before a stop sequence and never streams any of it', async () => {
    const free = await runtime.complete({ prompt: 'hello', seed: 21, max_tokens: 40 });
    const stop = free.text.slice(6, 9);
    const expected = free.text.slice(0, free.text.indexOf(stop));
    const deltas: string[] = [];
    const cut = await runtime.complete(
      { prompt: 'hello', seed: 21, max_tokens: 40, stop: [stop, 'never appears'] },
      { onDelta: (d) => deltas.push(d) },
    );
    expect(cut.text).toBe(expected);
    expect(cut.finishReason).toBe('stop');
    expect(deltas.join('')).toBe(expected);
    // Tokens sampled up to and including the stop sequence were computed, so they are counted.
    expect(cut.usage?.completionTokens).toBeGreaterThan(0);
  });
});

describe('llama-cpp runtime: cancellation and lifecycle', () => {
  it('stops generating when aborted mid-stream, frees the slot and keeps serving', async () => {
    const controller = new AbortController();
    let deltas = 0;
    let streamed = '';
    const onDelta = (text: string) => {
      streamed += text;
      deltas += 1;
      if (deltas === 3) controller.abort();
    };
    const error = await expectPodError(
      runtime.complete({ prompt: 'x', seed: 1, max_tokens: 500 }, { signal: controller.signal, onDelta }),
      'pod_aborted',
      false,
    );
    expect(error).toBeInstanceOf(PodAbortedError);
    expect(error.code).toBe('job_cancelled');
    expect(deltas).toBe(3);
    // What it had produced comes with the abort (a caller may pay for it): the text that went out, and
    // the tokens behind it, counted.
    const { partial } = error as PodAbortedError;
    expect(partial?.text).toBe(streamed);
    expect(partial?.completionTokenIds?.length).toBeGreaterThanOrEqual(3);
    expect(partial?.usage).toMatchObject({
      promptTokens: expect.any(Number),
      completionTokens: partial?.completionTokenIds?.length,
    });
    // Of the prompt, what the slot held from an earlier job, as a whole answer says it.
    expect(partial?.usage.cachedPromptTokens ?? 0).toBeLessThan(partial?.usage.promptTokens ?? 0);
    expect(partial?.usage.promptTokens).toBeGreaterThan(0);
    expect(runtime.info().activeJobs).toBe(0);
    const both = await Promise.all([
      runtime.chat({ ...hello, seed: 1, max_tokens: 4 }),
      runtime.chat({ ...hello, seed: 1, max_tokens: 4 }),
    ]);
    expect(both.map((r) => r.usage?.completionTokens)).toEqual([4, 4]);
  });

  it('with the GPU asked for, offloads where llama.cpp finds one and serves the same answer on the CPU where not', async () => {
    // `neurino miner --gpu` on a machine without a usable GPU (or without the prebuilt GPU binaries):
    // never a build or a download, the CPU binary serves and the answer is the one the CPU gives.
    const gpu = new LlamaCppRuntime({ modelPath, slots: 1, gpu: 'auto' });
    try {
      await gpu.load();
      const llama = await sharedLlama({ gpu: 'auto', maxThreads: 1 });
      const request = { ...hello, seed: 5, max_tokens: 6 };
      const answer = await gpu.chat(request);
      expect(answer.usage?.completionTokens).toBe(6);
      if (llama.gpu === false) expect(answer.text).toBe((await runtime.chat(request)).text);
    } finally {
      await gpu.unload();
    }
  });

  it('rejects a job whose signal has already fired without running it', async () => {
    const signal = AbortSignal.abort();
    await expectPodError(runtime.chat(hello, { signal }), 'pod_aborted', false);
    await expectPodError(runtime.embed({ input: 'x' }, { signal }), 'pod_aborted', false);
  });

  it('refuses jobs before load and after unload, and fails running jobs on unload', async () => {
    const own = new LlamaCppRuntime({ modelPath, slots: 1 });
    expect(own.info()).toMatchObject({ warm: false, contextSize: null, model: 'neurino-tiny' });
    const early = await expectPodError(own.chat(hello), 'pod_not_loaded', true);
    expect(early).toBeInstanceOf(PodNotLoadedError);
    await Promise.all([own.load(), own.load()]);
    let started: () => void = () => {};
    const streaming = new Promise<void>((resolve) => {
      started = resolve;
    });
    const running = expectPodError(
      // Seeded: this one runs for 631 tokens (most samples of the tiny model end far sooner).
      own.complete({ prompt: 'x', seed: 3, max_tokens: 1000 }, { onDelta: () => started() }),
      'pod_not_loaded',
      true,
    );
    const waiting = expectPodError(own.complete({ prompt: 'x', max_tokens: 10 }), 'pod_not_loaded', true);
    await streaming;
    await own.unload();
    await Promise.all([running, waiting]);
    expect(own.info()).toMatchObject({ warm: false, activeJobs: 0 });
    await own.unload();
    await own.load();
    expect((await own.chat({ ...hello, seed: 1, max_tokens: 2 })).usage?.completionTokens).toBe(2);
    await own.unload();
  });

  it('fails to load a missing or corrupt file with a retryable PodLoadFailedError', async () => {
    const missing = new LlamaCppRuntime({ modelPath: join(dir, 'absent.gguf') });
    const error = await expectPodError(missing.load(), 'pod_load_failed', true);
    expect(error).toBeInstanceOf(PodLoadFailedError);
    expect(error.message).toContain('absent.gguf');
    const corrupt = join(dir, 'corrupt.gguf');
    for (const content of [
      'GGUF but not really, a corrupt header',
      'short',
      'NOTGGUF and more bytes past 24',
    ]) {
      await writeFile(corrupt, content);
      await expectPodError(new LlamaCppRuntime({ modelPath: corrupt }).load(), 'pod_load_failed', true);
    }
    // A valid header over a truncated body: llama.cpp itself must refuse it.
    const whole = await readFile(modelPath);
    await writeFile(corrupt, whole.subarray(0, whole.length >> 1));
    await expectPodError(new LlamaCppRuntime({ modelPath: corrupt }).load(), 'pod_load_failed', true);
    expect(missing.info().warm).toBe(false);
  });

  it('stops a load whose signal has fired', async () => {
    const own = new LlamaCppRuntime({ modelPath });
    await expectPodError(own.load(AbortSignal.abort()), 'pod_aborted', false);
    expect(own.info().warm).toBe(false);
  });

  it('checks its options when created', () => {
    for (const bad of [{ slots: 0 }, { contextSize: -1 }, { threads: 1.5 }]) {
      expect(() => new LlamaCppRuntime({ modelPath, ...bad })).toThrow(RangeError);
    }
  });
});

describe('llama-cpp runtime: embeddings', () => {
  it('returns one unit vector of the model width per input, the same every time', async () => {
    const a = await runtime.embed({ input: ['hello', 'the GPU node'] });
    const b = await runtime.embed({ input: 'hello' });
    expect(a.vectors).toHaveLength(2);
    expect(a.vectors.every((v) => v.length === 64)).toBe(true);
    expect(b.vectors[0]).toEqual(a.vectors[0]);
    expect(a.vectors[1]).not.toEqual(a.vectors[0]);
    const norm = Math.hypot(...(a.vectors[0] ?? []));
    expect(norm).toBeCloseTo(1, 6);
    // The embedding context evaluates BOS plus the text tokens.
    const expected = 2 + vocabulary.tokenize('hello').length + vocabulary.tokenize('the GPU node').length;
    expect(a.usage).toEqual({ promptTokens: expected });
    expect(a.model).toBe('neurino-tiny');
  });

  it('refuses embeddings when the pod disables them', async () => {
    const own = new LlamaCppRuntime({ modelPath, embeddings: false, slots: 1 });
    await own.load();
    const error = await expectPodError(own.embed({ input: 'x' }), 'pod_unsupported', false);
    expect(error).toBeInstanceOf(PodUnsupportedError);
    await own.unload();
  });
});

describe('llama-cpp runtime: bad input', () => {
  const badChats: Array<[string, unknown, string]> = [
    ['no messages', { messages: [] }, 'messages'],
    ['messages not an array', { messages: 'hello' }, 'messages'],
    ['unknown role', { messages: [{ role: 'function', content: 'x' }] }, 'messages[0].role'],
    [
      'tool message naming no call',
      { messages: [{ role: 'tool', content: 'x' }] },
      'messages[0].tool_call_id',
    ],
    ['user message without content', { messages: [{ role: 'user', content: null }] }, 'messages[0].content'],
    ['content not text', { messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    ['temperature above 2', { ...hello, temperature: 2.5 }, 'temperature'],
    ['top_p of 0', { ...hello, top_p: 0 }, 'top_p'],
    ['max_tokens of 0', { ...hello, max_tokens: 0 }, 'max_tokens'],
    ['fractional max_tokens', { ...hello, max_tokens: 1.5 }, 'max_tokens'],
    ['fractional seed', { ...hello, seed: 0.5 }, 'seed'],
    ['empty stop', { ...hello, stop: '' }, 'stop'],
    ['five stops', { ...hello, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['not an object', 'hello', ''],
  ];
  for (const [name, request, param] of badChats) {
    it(`refuses a chat with ${name}`, async () => {
      const error = await expectPodError(runtime.chat(request as ChatRequest), 'pod_bad_request', false);
      expect(error).toBeInstanceOf(PodBadRequestError);
      expect(error.code).toBe('invalid_request');
      expect(error.param ?? '').toBe(param);
    });
  }

  it('refuses a completion without a string prompt', async () => {
    for (const request of [{}, { prompt: ['a', 'b'] }, { prompt: 3 }]) {
      await expectPodError(runtime.complete(request as never), 'pod_bad_request', false);
    }
  });

  it('refuses embeddings of nothing or of what is neither text nor token ids', async () => {
    const inputs = [
      { input: '' },
      { input: [] },
      { input: ['ok', ''] },
      { input: [1, 'a'] },
      { input: [[]] },
      {},
    ];
    for (const request of inputs) {
      await expectPodError(runtime.embed(request as never), 'pod_bad_request', false);
    }
  });

  it('refuses a prompt longer than the context, saying how long both are', async () => {
    const error = await expectPodError(
      runtime.complete({ prompt: 'hello '.repeat(1100) }),
      'pod_bad_request',
      false,
    );
    expect(error.details).toMatchObject({ contextSize: 1024 });
    expect(error.param).toBe('prompt');
    const chat = await expectPodError(
      runtime.chat({ messages: [{ role: 'user', content: 'hello '.repeat(1100) }] }),
      'pod_bad_request',
      false,
    );
    expect(chat.param).toBe('messages');
    const long = await expectPodError(
      runtime.embed({ input: 'hello '.repeat(1100) }),
      'pod_bad_request',
      false,
    );
    expect(long.param).toBe('input[0]');
  });

  it("leaves out a long conversation's oldest messages to fit the context with truncation 'auto'", async () => {
    const system = { role: 'system' as const, content: 'the GPU node' };
    const turns = Array.from({ length: 30 }, (_, i) => ({
      role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: `turn ${i} of a long talk `.repeat(4),
    }));
    const last = { role: 'user' as const, content: 'and now?' };
    const messages = [system, ...turns, last];
    const request = { messages, max_tokens: 4, temperature: 0 };
    await expectPodError(runtime.chat(request), 'pod_bad_request', false);
    const fitted = await runtime.chat({ ...request, truncation: 'auto' });
    const left = fitted.truncatedMessages ?? 0;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(turns.length);
    // Room for the answer it may give, inside the context.
    expect((fitted.usage?.promptTokens ?? 0) + 4).toBeLessThanOrEqual(1024);
    // What the model saw: the same conversation without those messages, answered alike.
    const kept = await runtime.chat({ ...request, messages: [system, ...turns.slice(left), last] });
    expect(kept.usage?.promptTokens).toBe(fitted.usage?.promptTokens);
    expect(kept.usage?.completionTokens).toBe(fitted.usage?.completionTokens);
    expect(kept.completionTokenIds).toEqual(fitted.completionTokenIds);
    expect(kept.truncatedMessages).toBeUndefined();
    // Stopped midway, the work handed over says so too.
    const controller = new AbortController();
    const stopped = await expectPodError(
      runtime.chat(
        { ...request, max_tokens: 8, truncation: 'auto' },
        { signal: controller.signal, onDelta: () => controller.abort() },
      ),
      'pod_aborted',
      false,
    );
    expect((stopped as PodAbortedError).partial?.truncatedMessages).toBe(left);
    // One that fits loses nothing.
    expect(
      (await runtime.chat({ messages: [system, last], max_tokens: 2, truncation: 'auto' })).truncatedMessages,
    ).toBeUndefined();
  });

  it('ignores fields it does not use, as an OpenAI body carries many', async () => {
    const result = await runtime.chat({
      ...hello,
      seed: 1,
      max_tokens: 2,
      stream: true,
      user: 'u',
      n: 1,
    } as ChatRequest);
    expect(result.usage?.completionTokens).toBe(2);
  });
});

describe('TokenTextDecoder', () => {
  it('holds byte tokens back until they form a whole UTF-8 character', () => {
    const tokens = vocabulary.tokenize('é→a');
    // é is two byte tokens, → three, a one normal piece.
    expect(tokens).toHaveLength(6);
    const decoder = new TokenTextDecoder(vocabulary);
    expect(tokens.map((t) => decoder.push(t))).toEqual(['', 'é', '', '', '→', 'a']);
    expect(decoder.flush()).toBe('');
  });

  it('gives up waiting after four bytes and flushes an incomplete character as U+FFFD', () => {
    const decoder = new TokenTextDecoder(vocabulary);
    const [first] = vocabulary.tokenize('é');
    if (first === undefined) throw new Error('é tokenizes');
    expect(decoder.push(first)).toBe('');
    expect(decoder.flush()).toBe('\uFFFD');
  });
});
