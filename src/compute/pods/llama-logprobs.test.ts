// Log probabilities from a real llama.cpp model (the tiny generated one): one entry per token of the
// answer, in order, whose bytes make its text; the sampled token among its alternatives; the alternatives
// most likely first, summing to at most 1; the same tokens with or without them; stop sequences and tool
// calls leave out what is not in the text.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny-model.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';
import { sharedLlama } from './llama-instance.ts';
import { LogprobCollector, logprobOf } from './llama-logprobs.ts';
import { weatherTool } from './testing/weather-tool.ts';
import { type GenerationResult, type TokenLogprob, UNWRITABLE_LOGPROB } from './types.ts';

let dir: string;
let runtime: LlamaCppRuntime;
let modelPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-logprobs-'));
  modelPath = (await writeTinyModel(join(dir, 'neurino-tiny.gguf'))).path;
  runtime = new LlamaCppRuntime({ modelPath, slots: 1 });
  await runtime.load();
});

afterAll(async () => {
  await runtime?.unload();
  await rm(dir, { recursive: true, force: true });
});

const messages = [{ role: 'user' as const, content: 'Write some words' }];

/** The bytes of the entries, joined, as text. */
function textOf(logprobs: readonly TokenLogprob[]): string {
  return Buffer.from(logprobs.flatMap((entry) => entry.bytes)).toString('utf8');
}

function expectWellFormed(result: GenerationResult, top: number): readonly TokenLogprob[] {
  const logprobs = result.logprobs ?? [];
  expect(textOf(logprobs)).toBe(result.text);
  for (const entry of logprobs) {
    expect(entry.logprob).toBeLessThanOrEqual(0);
    expect(entry.logprob).toBeGreaterThanOrEqual(UNWRITABLE_LOGPROB);
    expect(entry.top.length).toBe(top);
    const tops = entry.top.map((alt) => alt.logprob);
    expect(tops).toEqual([...tops].sort((a, b) => b - a));
    expect(tops.reduce((sum, lp) => sum + Math.exp(lp), 0)).toBeLessThanOrEqual(1 + 1e-6);
  }
  return logprobs;
}

describe('log probabilities on llama-cpp pods', () => {
  it('gives one entry per token of the text, the same tokens as without them', async () => {
    const asked = { messages, max_tokens: 24, seed: 4, temperature: 0.8 };
    const plain = await runtime.chat(asked);
    const result = await runtime.chat({ ...asked, logprobs: true, top_logprobs: 5 });
    expect(result.text).toBe(plain.text);
    expect(result.completionTokenIds).toEqual(plain.completionTokenIds);
    const logprobs = expectWellFormed(result, 5);
    expect(logprobs.length).toBeGreaterThan(0);
    // Without end tokens: one per sampled token of the text.
    expect(logprobs.length).toBeLessThanOrEqual(result.usage?.completionTokens ?? 0);
    expect(plain.logprobs).toBeUndefined();
  });

  it("passes each streamed piece's entries with it: together, the result's", async () => {
    const asked = { messages, max_tokens: 24, seed: 5, logprobs: true, top_logprobs: 2 };
    const pieces: Array<{ text: string; logprobs: readonly TokenLogprob[] }> = [];
    const result = await runtime.chat(asked, {
      onDelta: (text, logprobs) => pieces.push({ text, logprobs: logprobs ?? [] }),
    });
    expect(pieces.map((piece) => piece.text).join('')).toBe(result.text);
    expect(pieces.flatMap((piece) => piece.logprobs)).toEqual(result.logprobs);
    // A piece's entries are those of the tokens its text comes from.
    for (const piece of pieces) expect(piece.logprobs.length).toBeGreaterThan(0);
  });

  it('puts the greedy choice first among the alternatives, under the name it has in the text', async () => {
    const result = await runtime.chat({
      messages,
      max_tokens: 16,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    });
    for (const entry of expectWellFormed(result, 3)) {
      if (entry.token === '') continue; // inside a character split over tokens
      expect(entry.top[0]?.token).toBe(entry.token);
      expect(entry.top[0]?.logprob).toBeCloseTo(entry.logprob, 6);
    }
  });

  it('gives the chosen token alone with no alternatives asked, and the same on completions', async () => {
    const chat = await runtime.chat({ messages, max_tokens: 8, seed: 2, logprobs: true });
    expectWellFormed(chat, 0);
    const completion = await runtime.complete({ prompt: 'Once upon', max_tokens: 12, seed: 2, logprobs: 2 });
    expectWellFormed(completion, 2);
    expect(completion.logprobs?.length).toBeGreaterThan(0);
  });

  it('shows a character split over tokens by the bytes of each, as OpenAI does', async () => {
    const llama = await sharedLlama({ gpu: false, maxThreads: 1 });
    const vocabulary = await llama.loadModel({ modelPath, vocabOnly: true });
    try {
      const collector = new LogprobCollector(vocabulary, 1);
      const [a] = vocabulary.tokenize('a', false);
      const euro = vocabulary.tokenize('€', false);
      expect(euro.length).toBe(3); // byte tokens of the tiny vocabulary
      if (a === undefined) throw new Error('no token for a');
      collector.sampled(a, 0.5, new Map([[a, 0.5]]));
      collector.decoded('a');
      for (const token of euro) collector.sampled(token, 0.25, new Map([[token, 0.25]]));
      collector.decoded('€');
      const entries = collector.entries('a€'.length);
      expect(entries.map((e) => e.token)).toEqual(['a', 'bytes:\\xe2', 'bytes:\\x82', 'bytes:\\xac']);
      expect(Buffer.from(entries.flatMap((e) => e.bytes)).toString('utf8')).toBe('a€');
      // The sampled token among its alternatives reads the same.
      expect(entries.map((e) => e.top[0]?.token)).toEqual(entries.map((e) => e.token));
      // Cut inside the text: the tokens of what is left.
      expect(collector.entries(1).map((e) => e.token)).toEqual(['a']);
    } finally {
      await vocabulary.dispose();
    }
  });

  it('leaves out what a stop sequence cut', async () => {
    const base = { prompt: 'Once upon', max_tokens: 24, seed: 3, logprobs: 0 };
    const whole = await runtime.complete(base);
    const stop = whole.text.slice(4, 6);
    const cut = await runtime.complete({ ...base, stop: [stop] });
    expect(cut.text.length).toBeLessThan(whole.text.length);
    expectWellFormed(cut, 0);
  });

  it('covers the text before a tool call, not the call', async () => {
    const forced = await runtime.chat({
      messages,
      tools: [weatherTool],
      tool_choice: 'required',
      max_tokens: 60,
      logprobs: true,
      top_logprobs: 1,
    });
    expect(forced.toolCalls?.length).toBe(1);
    expect(forced.logprobs).toEqual([]);
  });

  it('writes a vanishing probability as OpenAI does, and never above 0', () => {
    expect(logprobOf(0)).toBe(UNWRITABLE_LOGPROB);
    expect(logprobOf(1e-300 * 1e-300)).toBe(UNWRITABLE_LOGPROB);
    expect(logprobOf(1.0000001)).toBe(0);
    expect(logprobOf(0.5)).toBeCloseTo(Math.log(0.5), 12);
  });
});
