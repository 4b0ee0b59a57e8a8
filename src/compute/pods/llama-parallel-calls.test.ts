import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChatMLChatWrapper,
  type ChatWrapperSettings,
  type LlamaModel,
  LlamaText,
  SpecialTokensText,
  type Token,
} from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolCallDelta } from '../../protocol/messages/jobs.ts';
import { writeTinyModel } from '../model/tiny-model.ts';
import { PodAbortedError } from './errors.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';
import { sharedLlama } from './llama-instance.ts';
import { MAX_CALLS_PER_TURN } from './llama-tool-calls.ts';
import { clockTool, weatherTool } from './testing/weather-tool.ts';
import type { ChatRequest, GenerationResult, ToolCall } from './types.ts';

/**
 * ChatML with the parallel calls of Llama 3's and Qwen's templates: calls one per line, the turn's end
 * closing them; optionally an opening before the first (as Mistral's `[TOOL_CALLS][`) and the name repeated
 * around the arguments (as Muse's and templates read from Jinja).
 */
class ParallelWrapper extends ChatMLChatWrapper {
  constructor(options: { opening?: string; namedParams?: boolean } = {}) {
    super();
    const { functions } = this.settings;
    (this as { settings: ChatWrapperSettings }).settings = {
      ...this.settings,
      functions: {
        ...functions,
        call: {
          ...functions.call,
          ...(options.namedParams ? { paramsPrefix: LlamaText(' {{functionName}}(') } : {}),
        },
        parallelism: {
          call: {
            sectionPrefix: options.opening ?? '',
            betweenCalls: '\n',
            sectionSuffix: LlamaText(new SpecialTokensText('<|im_end|>')),
          },
        },
      },
    };
  }
}

let dir: string;
let modelPath: string;
let parallel: LlamaCppRuntime;
let opened: LlamaCppRuntime;
/** A context long enough for more calls than a turn may make. */
let roomy: LlamaCppRuntime;
let vocabulary: LlamaModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-parallel-calls-'));
  modelPath = (await writeTinyModel(join(dir, 'neurino-tiny.gguf'))).path;
  parallel = new LlamaCppRuntime({ modelPath, slots: 1, chatWrapper: new ParallelWrapper() });
  opened = new LlamaCppRuntime({
    modelPath,
    slots: 1,
    chatWrapper: new ParallelWrapper({ opening: '[CALLS]', namedParams: true }),
  });
  roomy = new LlamaCppRuntime({ modelPath, slots: 1, contextSize: 2048, chatWrapper: new ParallelWrapper() });
  const llama = await sharedLlama({ gpu: false, maxThreads: 1 });
  vocabulary = await llama.loadModel({ modelPath, vocabOnly: true });
  await Promise.all([parallel.load(), opened.load(), roomy.load()]);
});

afterAll(async () => {
  await Promise.all([parallel?.unload(), opened?.unload(), roomy?.unload(), vocabulary?.dispose()]);
  await rm(dir, { recursive: true, force: true });
});

const clock = clockTool;
/** A tool without parameters: short calls, so a turn has room for many. */
const now = { type: 'function' as const, function: { name: 'now' } };
const user: ChatRequest['messages'] = [{ role: 'user', content: 'Weather in Paris and Rome, and the time?' }];
const question: ChatRequest = {
  messages: user,
  tools: [weatherTool, clock],
  tool_choice: 'required',
  max_tokens: 400,
};
/** At temperature 2 the tiny model's odds of ending and of going on are close enough for seeds to see both. */
const timeQuestion: ChatRequest = { messages: user, tools: [now], tool_choice: 'required', temperature: 2 };
const SEEDS = Array.from({ length: 12 }, (_, i) => i + 1);

/** Each call names an offered tool and its arguments hold that tool's schema; ids are distinct. */
function expectWholeCalls(calls: readonly ToolCall[]) {
  for (const call of calls) {
    const args = JSON.parse(call.arguments) as Record<string, unknown>;
    if (call.name === 'get_weather') expect(['Paris', 'Rome']).toContain(args.city);
    else if (call.name === 'get_time') expect(['UTC', 'CET']).toContain(args.zone);
    else expect([call.name, args]).toEqual(['now', {}]);
    expect(call.arguments).toBe(JSON.stringify(args));
  }
  expect(new Set(calls.map((call) => call.id)).size).toBe(calls.length);
}

/** The turn as the model's context holds it. */
function turnText(result: GenerationResult): string {
  return vocabulary.detokenize((result.completionTokenIds ?? []) as Token[], true);
}

describe('llama-cpp runtime: several calls in one turn', () => {
  it('makes one call or several as the model ends or goes on, each whole, counted, and repeated for a seed', async () => {
    const counts: number[] = [];
    for (const seed of SEEDS) {
      const result = await parallel.chat({ ...timeQuestion, seed });
      expect(result.finishReason).toBe('tool_calls');
      const calls = result.toolCalls ?? [];
      expectWholeCalls(calls);
      expect(result.usage?.completionTokens).toBe(result.completionTokenIds?.length);
      // Calls one per line, as the template writes them.
      expect(turnText(result).split('\n||call: ')).toHaveLength(calls.length);
      counts.push(calls.length);
      if (seed <= 3) {
        const again = await parallel.chat({ ...timeQuestion, seed });
        expect(again.completionTokenIds).toEqual(result.completionTokenIds);
      }
    }
    expect(counts).toContain(1);
    expect(Math.max(...counts)).toBeGreaterThan(1);
  });

  it("holds each of several calls to its own tool's schema", async () => {
    let several = 0;
    for (const seed of SEEDS.slice(0, 6)) {
      const result = await parallel.chat({ ...question, seed });
      const calls = result.toolCalls ?? [];
      // Cut by the context: all but the call under way are whole.
      expectWholeCalls(result.finishReason === 'length' ? calls.slice(0, -1) : calls);
      if (calls.length > 1) several++;
    }
    expect(several).toBeGreaterThan(0);
  });

  it('makes exactly one call with parallel_tool_calls false, or when a tool is named', async () => {
    for (const seed of SEEDS) {
      const single = await parallel.chat({ ...timeQuestion, seed, parallel_tool_calls: false });
      expect(single.toolCalls).toHaveLength(1);
      expect(single.finishReason).toBe('tool_calls');
    }
    const named = await parallel.chat({
      ...question,
      seed: 1,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    expect(named.toolCalls?.map((call) => call.name)).toEqual(['get_time']);
  });

  it(`stops at ${MAX_CALLS_PER_TURN} calls in a turn`, async () => {
    const counts: number[] = [];
    for (const seed of SEEDS.slice(0, 6)) {
      const result = await roomy.chat({ ...timeQuestion, temperature: 1, seed });
      expect(result.finishReason).toBe('tool_calls');
      counts.push(result.toolCalls?.length ?? 0);
    }
    expect(Math.max(...counts)).toBe(MAX_CALLS_PER_TURN);
  });

  it('stopped after some calls, hands back the whole turn so far as its partial work, counted', async () => {
    const request = { ...timeQuestion, temperature: 1, seed: await seedReaching(MAX_CALLS_PER_TURN) };
    const whole = await roomy.chat(request);
    const perCall = (whole.completionTokenIds?.length ?? 0) / MAX_CALLS_PER_TURN;
    // Stopped at some moment after the first call (the turn's phases have no hook to stop them at).
    for (let delayMs = 1; delayMs < 2_000; delayMs = Math.ceil(delayMs * 1.5)) {
      const error = await roomy.chat(request, { signal: AbortSignal.timeout(delayMs) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error === undefined) break;
      expect(error).toBeInstanceOf(PodAbortedError);
      const partial = (error as PodAbortedError).partial;
      const tokens = partial?.completionTokenIds ?? [];
      if (tokens.length < perCall) continue;
      expect(whole.completionTokenIds?.slice(0, tokens.length)).toEqual(tokens);
      // The same prompt ran just before: the slot held all of it but its last token.
      const promptTokens = whole.usage?.promptTokens ?? 0;
      expect(partial?.usage).toEqual({
        promptTokens,
        completionTokens: tokens.length,
        cachedPromptTokens: promptTokens - 1,
      });
      expect(partial?.text).toBe('');
      return;
    }
    throw new Error('no stop landed after the first call');
  });

  it('cut by max_tokens, keeps the calls made whole and the one under way, with length', async () => {
    const seed = await seedWithCalls(3);
    const whole = await parallel.chat({ ...timeQuestion, seed });
    const used = whole.usage?.completionTokens ?? 0;
    const cut = await parallel.chat({ ...timeQuestion, seed, max_tokens: used - 6 });
    expect(cut.finishReason).toBe('length');
    expect(cut.completionTokenIds).toEqual(whole.completionTokenIds?.slice(0, used - 6));
    const [wholeCalls, cutCalls] = [whole.toolCalls ?? [], cut.toolCalls ?? []];
    expect(cutCalls).toHaveLength(wholeCalls.length);
    const strip = (calls: readonly ToolCall[]) => calls.map(({ name, arguments: a }) => [name, a]);
    expect(strip(cutCalls.slice(0, -1))).toEqual(strip(wholeCalls.slice(0, -1)));
    expect(cutCalls.at(-1)?.name).toBe('now');
    expect(() => JSON.parse(cutCalls.at(-1)?.arguments ?? '')).toThrow();
  });

  it('streams each call as the model writes it: named first, then its arguments piece by piece', async () => {
    let several = 0;
    for (const seed of SEEDS.slice(0, 4)) {
      const pieces: ToolCallDelta[] = [];
      const result = await parallel.chat({ ...question, seed }, { onToolCall: (p) => pieces.push(p) });
      const calls = result.toolCalls ?? [];
      expect(pieces.map((piece) => piece.index)).toEqual(
        [...pieces.map((p) => p.index)].sort((a, b) => a - b),
      );
      for (const [index, call] of calls.entries()) {
        const [first, ...rest] = pieces.filter((piece) => piece.index === index);
        expect(first).toEqual({ index, id: call.id, name: call.name, arguments: '' });
        expect(rest.every((piece) => piece.id === undefined && piece.name === undefined)).toBe(true);
        // Compacted as they come, the pieces are the call's arguments (a call cut short too).
        expect(rest.map((piece) => piece.arguments).join('')).toBe(call.arguments);
        expect(rest.length).toBeGreaterThan(1);
      }
      expect(new Set(pieces.map((piece) => piece.index)).size).toBe(calls.length);
      if (calls.length > 1) several++;
    }
    expect(several).toBeGreaterThan(0);
  });

  it("writes the template's opening before the first call and the name where its template puts it", async () => {
    const result = await opened.chat({ ...timeQuestion, seed: await seedWithCalls(2) });
    expect(result.finishReason).toBe('tool_calls');
    const text = turnText(result);
    expect(text.startsWith('[CALLS]||call: now now(')).toBe(true);
    expect(text.split('\n||call: now now(')).toHaveLength(result.toolCalls?.length ?? 0);
    expect(text).not.toContain('{{functionName}}');
  });

  it("with Llama 3's template, named as a pod spec names it, makes several calls in a turn", async () => {
    const llama3 = new LlamaCppRuntime({ modelPath, slots: 1, chatTemplate: 'llama3' });
    await llama3.load();
    try {
      const counts: number[] = [];
      for (const seed of SEEDS.slice(0, 6)) {
        const result = await llama3.chat({ ...timeQuestion, seed });
        expectWholeCalls(result.toolCalls ?? []);
        counts.push(result.toolCalls?.length ?? 0);
      }
      expect(Math.max(...counts)).toBeGreaterThan(1);
    } finally {
      await llama3.unload();
    }
  });

  it('goes on from the results of several calls: the prompt holds them all', async () => {
    const call = (id: string, city: string) => ({
      id,
      type: 'function' as const,
      function: { name: 'get_weather', arguments: JSON.stringify({ city }) },
    });
    const conversation = (calls: ReturnType<typeof call>[]): ChatRequest => ({
      messages: [
        ...user,
        { role: 'assistant', content: null, tool_calls: calls },
        ...calls.map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: '{"celsius":20}' })),
      ],
      tools: question.tools,
      max_tokens: 3,
      seed: 1,
    });
    const one = await parallel.chat(conversation([call('a', 'Paris')]));
    const two = await parallel.chat(conversation([call('a', 'Paris'), call('b', 'Rome')]));
    expect((two.usage?.promptTokens ?? 0) - (one.usage?.promptTokens ?? 0)).toBeGreaterThan(25);
  });
});

/** The first seed whose turn in the roomy context makes `n` calls. */
async function seedReaching(n: number): Promise<number> {
  for (const seed of SEEDS) {
    const result = await roomy.chat({ ...timeQuestion, temperature: 1, seed });
    if (result.toolCalls?.length === n) return seed;
  }
  throw new Error(`no seed of ${SEEDS.length} makes ${n} calls`);
}

/** The first seed whose turn makes at least `n` calls. */
async function seedWithCalls(n: number): Promise<number> {
  for (const seed of SEEDS) {
    const result = await parallel.chat({ ...timeQuestion, seed });
    if ((result.toolCalls?.length ?? 0) >= n) return seed;
  }
  throw new Error(`no seed of ${SEEDS.length} makes ${n} calls`);
}
