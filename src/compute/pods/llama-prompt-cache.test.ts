// Prompt caching on the llama-cpp runtime: a job takes the free slot whose context begins as its prompt
// does and keeps that part, so a conversation's next turn evaluates only what is new; with it off, every
// prompt is evaluated whole and a seeded job repeats bit for bit.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny-model.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';
import { weatherTool } from './testing/weather-tool.ts';
import type { ChatMessage, ChatRequest, GenerationResult } from './types.ts';

let dir: string;
let modelPath: string;
let cached: LlamaCppRuntime;
let cold: LlamaCppRuntime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-prompt-cache-'));
  modelPath = (await writeTinyModel(join(dir, 'neurino-tiny.gguf'))).path;
  cached = new LlamaCppRuntime({ modelPath, slots: 2 });
  cold = new LlamaCppRuntime({ modelPath, slots: 2, promptCache: false });
  await Promise.all([cached.load(), cold.load()]);
});

afterAll(async () => {
  await Promise.all([cached?.unload(), cold?.unload()]);
  await rm(dir, { recursive: true, force: true });
});

const system: ChatMessage = { role: 'system', content: 'You answer questions about GPUs. '.repeat(6) };

/** The conversation with its answer and the next question added, as a client sends its next turn. */
function nextTurn(
  messages: readonly ChatMessage[],
  answer: GenerationResult,
  question: string,
): ChatMessage[] {
  return [...messages, { role: 'assistant', content: answer.text }, { role: 'user', content: question }];
}

describe('llama-cpp runtime: prompt caching', () => {
  it("keeps a conversation's earlier turns in its slot: the next turn counts them cached, and all as prompt", async () => {
    const first: ChatMessage[] = [system, { role: 'user', content: 'How many GPUs?' }];
    const request = (messages: ChatMessage[]): ChatRequest => ({ messages, max_tokens: 6, temperature: 0 });
    const one = await cached.chat(request(first));
    const second = nextTurn(first, one, 'And how much memory?');
    const two = await cached.chat(request(second));
    const before = one.usage?.promptTokens ?? 0;
    expect(two.usage?.promptTokens).toBeGreaterThan(before);
    // The whole earlier prompt begins this one (its answer's tokens may be written differently).
    expect(two.usage?.cachedPromptTokens).toBeGreaterThanOrEqual(before);
    expect(two.usage?.cachedPromptTokens).toBeLessThan(two.usage?.promptTokens ?? 0);
    // Evaluated whole, the same prompt gives the same answer.
    const whole = await cold.chat(request(second));
    expect(whole.usage).toEqual({ promptTokens: two.usage?.promptTokens, completionTokens: 6 });
    expect(whole.text).toBe(two.text);
  });

  it('gives each of two conversations the slot that holds it, whichever was used last', async () => {
    const questions = ['What is a pod?', 'Who pays?', 'How is it settled?'];
    const conversations: ChatMessage[][] = [
      [system, { role: 'user', content: 'Tell me about miners.' }],
      [
        { role: 'system', content: 'You are terse. '.repeat(12) },
        { role: 'user', content: 'Tell me about routers.' },
      ],
    ];
    for (const [turn, question] of questions.entries()) {
      for (const [index, messages] of conversations.entries()) {
        const answer = await cached.chat({ messages, max_tokens: 4, seed: turn });
        if (turn > 0) expect(answer.usage?.cachedPromptTokens).toBeGreaterThan(40);
        conversations[index] = nextTurn(messages, answer, question);
      }
    }
  });

  it('keeps the prompt of a turn that calls a tool, and of its forced call, as of any other', async () => {
    const request: ChatRequest = {
      messages: [system, { role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'required',
      max_tokens: 60,
      seed: 2,
    };
    const first = await cached.chat(request);
    const again = await cached.chat(request);
    expect(again.usage?.cachedPromptTokens).toBe((again.usage?.promptTokens ?? 0) - 1);
    expect(again.toolCalls?.map((call) => call.arguments)).toEqual(first.toolCalls?.map((c) => c.arguments));
  });

  it('trusts nothing a failed job left in its slot: the next prompt is evaluated whole', async () => {
    const single = new LlamaCppRuntime({ modelPath, slots: 1 });
    await single.load();
    try {
      const request: ChatRequest = { messages: [system, { role: 'user', content: 'Hi' }], max_tokens: 2 };
      await single.chat(request);
      expect((await single.chat(request)).usage?.cachedPromptTokens).toBeGreaterThan(0);
      const tooLong = {
        ...request,
        messages: [...request.messages, { role: 'user' as const, content: 'x '.repeat(2_000) }],
      };
      await expect(single.chat(tooLong)).rejects.toMatchObject({ code: 'invalid_request' });
      expect((await single.chat(request)).usage?.cachedPromptTokens).toBeUndefined();
    } finally {
      await single.unload();
    }
  });

  it('with promptCache false, evaluates every prompt whole: nothing cached, a seeded job repeated bit for bit', async () => {
    const request: ChatRequest = {
      messages: [system, { role: 'user', content: 'Hello!' }],
      max_tokens: 12,
      seed: 3,
      logprobs: true,
      top_logprobs: 2,
    };
    const [a, b] = [await cold.chat(request), await cold.chat(request)];
    expect(a.usage?.cachedPromptTokens).toBeUndefined();
    expect(b.usage?.cachedPromptTokens).toBeUndefined();
    expect(b.completionTokenIds).toEqual(a.completionTokenIds);
    expect(b.logprobs).toEqual(a.logprobs);
    // With the cache, the numbers agree but for their last digits (llama.cpp's kernels differ by batch).
    await cached.chat(request);
    const c = await cached.chat(request);
    expect(c.usage?.cachedPromptTokens).toBeGreaterThan(0);
    for (const [index, entry] of (c.logprobs ?? []).entries()) {
      expect(entry.logprob).toBeCloseTo(a.logprobs?.[index]?.logprob ?? 0, 3);
    }
  });
});
