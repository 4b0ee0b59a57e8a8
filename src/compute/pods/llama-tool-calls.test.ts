import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatMLChatWrapper, type ChatWrapperSettings, LlamaText, SpecialTokensText } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolCallDelta } from '../../protocol/messages/jobs.ts';
import { writeTinyModel } from '../model/tiny-model.ts';
import { PodBadRequestError, PodUnsupportedError } from './errors.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';
import { sharedLlama } from './llama-instance.ts';
import { compactJson } from './llama-tool-calls.ts';
import { clockTool, weatherCall, weatherTool } from './testing/weather-tool.ts';
import type { ChatRequest, GenerationResult } from './types.ts';

let dir: string;
let modelPath: string;
let runtime: LlamaCppRuntime;
/**
 * The same model with a template whose call begins with a letter the model writes early on its own (so an
 * unforced call is written by the model, not begun by a grammar), and one whose call begins with a special
 * token, as Llama 3.1's and Qwen's do.
 */
let eager: LlamaCppRuntime;
let special: LlamaCppRuntime;

/** ChatML whose tool calls begin with `prefix`. */
class CallPrefixWrapper extends ChatMLChatWrapper {
  constructor(prefix: string | LlamaText) {
    super();
    const { functions } = this.settings;
    (this as { settings: ChatWrapperSettings }).settings = {
      ...this.settings,
      functions: { ...functions, call: { ...functions.call, prefix, prefixAlternateMatches: [] } },
    };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-tool-calls-'));
  modelPath = (await writeTinyModel(join(dir, 'neurino-tiny.gguf'))).path;
  runtime = new LlamaCppRuntime({ modelPath, slots: 1 });
  eager = new LlamaCppRuntime({ modelPath, slots: 1, chatWrapper: new CallPrefixWrapper('p') });
  special = new LlamaCppRuntime({
    modelPath,
    slots: 1,
    chatWrapper: new CallPrefixWrapper(LlamaText(new SpecialTokensText('<|im_start|>'))),
  });
  await Promise.all([runtime.load(), eager.load(), special.load()]);
});

afterAll(async () => {
  await Promise.all([runtime?.unload(), eager?.unload(), special?.unload()]);
  await rm(dir, { recursive: true, force: true });
});

const weather = weatherTool;
const clock = clockTool;
const question: ChatRequest['messages'] = [{ role: 'user', content: 'What is the weather in Paris?' }];

/** The answer, its streamed text, and its calls' streamed pieces in order of arrival (text first). */
async function chat(on: LlamaCppRuntime, request: ChatRequest) {
  let streamed = '';
  const pieces: ToolCallDelta[] = [];
  const result = await on.chat(request, {
    onDelta: (text) => {
      expect(pieces).toEqual([]);
      streamed += text;
    },
    onToolCall: (piece) => pieces.push(piece),
  });
  return { result, streamed, pieces };
}

/** What the pieces of the call at `index` add up to. */
function streamedCall(pieces: readonly ToolCallDelta[], index: number) {
  const own = pieces.filter((piece) => piece.index === index);
  return { ...own[0], arguments: own.map((piece) => piece.arguments).join('') };
}

/** The single call, its arguments parsed. */
function onlyCall(result: GenerationResult) {
  expect(result.toolCalls).toHaveLength(1);
  const [call] = result.toolCalls ?? [];
  if (call === undefined) throw new Error('no call');
  expect(call.id).toMatch(/^call_[0-9a-f]{24}$/);
  return { ...call, args: JSON.parse(call.arguments) as unknown };
}

describe('compactJson', () => {
  it('drops the whitespace between tokens and keeps strings and numbers exactly as written', () => {
    expect(compactJson('{ "a b": "c\\" d\\n",\n\t"n": 12345678901234567890 , "e": [ 1e400, -0.10 ] }')).toBe(
      '{"a b":"c\\" d\\n","n":12345678901234567890,"e":[1e400,-0.10]}',
    );
  });
});

describe('llama-cpp runtime: tool calls', () => {
  it('calls a named tool with arguments its schema holds, in compact JSON, counting every token of the call', async () => {
    const { result, streamed } = await chat(runtime, {
      messages: question,
      tools: [weather, clock],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 100,
    });
    expect(result.finishReason).toBe('tool_calls');
    const call = onlyCall(result);
    expect(call.name).toBe('get_weather');
    expect(['Paris', 'Rome']).toContain((call.args as { city: string }).city);
    expect(call.arguments).toBe(JSON.stringify(call.args));
    expect(result.text).toBe('');
    expect(streamed).toBe('');
    expect(result.usage?.completionTokens).toBe(result.completionTokenIds?.length);
    expect(result.usage?.completionTokens).toBeGreaterThan(call.arguments.length / 4);
  });

  it('with tool_choice required, picks one of the offered tools, and repeats exactly for a seed', async () => {
    const request: ChatRequest = {
      messages: question,
      tools: [weather, clock],
      tool_choice: 'required',
      seed: 7,
      max_tokens: 100,
    };
    const first = await runtime.chat(request);
    const again = await runtime.chat(request);
    const call = onlyCall(first);
    expect(['get_weather', 'get_time']).toContain(call.name);
    const expected =
      call.name === 'get_weather' ? { city: expect.any(String) } : { zone: expect.any(String) };
    expect(call.args).toEqual(expected);
    expect(onlyCall(again)).toMatchObject({ name: call.name, arguments: call.arguments });
    expect(again.completionTokenIds).toEqual(first.completionTokenIds);
  });

  it('with tool_choice auto, streams what the model says before it writes a call, then the call apart', async () => {
    const { result, streamed, pieces } = await chat(eager, {
      messages: question,
      tools: [weather],
      temperature: 0,
      max_tokens: 200,
    });
    expect(result.finishReason).toBe('tool_calls');
    expect(onlyCall(result).name).toBe('get_weather');
    expect(streamed).toBe(result.text);
    expect(result.text).not.toContain('p');
    expect(streamedCall(pieces, 0)).toEqual({ index: 0, ...result.toolCalls?.[0] });
  });

  it('begins a call with a special token where the template says so, then the name, as the context holds them', async () => {
    const withToken = await special.chat({
      messages: question,
      tools: [weather],
      tool_choice: 'required',
      max_tokens: 100,
    });
    expect(onlyCall(withToken).name).toBe('get_weather');
    const llama = await sharedLlama({ gpu: false, maxThreads: 1 });
    const vocabulary = await llama.loadModel({ modelPath, vocabOnly: true });
    try {
      const start = vocabulary.tokenize('<|im_start|>', true);
      expect(start).toHaveLength(1);
      const name = vocabulary.tokenize('get_weather(', true);
      expect(withToken.completionTokenIds?.slice(0, 1 + name.length)).toEqual([...start, ...name]);
    } finally {
      await vocabulary.dispose();
    }
  });

  it('answers in text when the model writes no call, or when tool_choice is none', async () => {
    for (const tool_choice of ['auto', 'none'] as const) {
      const { result, streamed } = await chat(runtime, {
        messages: question,
        tools: [weather],
        tool_choice,
        max_tokens: 30,
        seed: 1,
      });
      expect(result.toolCalls).toBeUndefined();
      expect(result.finishReason).not.toBe('tool_calls');
      expect(streamed).toBe(result.text);
    }
  });

  it('stops with length and no call when max_tokens ends the call', async () => {
    const result = await runtime.chat({
      messages: question,
      tools: [weather],
      tool_choice: 'required',
      max_tokens: 8,
    });
    expect(result.finishReason).toBe('length');
    expect(result.toolCalls).toBeUndefined();
    expect(result.usage?.completionTokens).toBeLessThanOrEqual(8);
  });

  it('hands back a call cut by max_tokens mid-arguments, with finishReason length', async () => {
    const request: ChatRequest = { messages: question, tools: [weather], tool_choice: 'required', seed: 3 };
    const whole = await runtime.chat({ ...request, max_tokens: 100 });
    const used = whole.usage?.completionTokens ?? 0;
    // The grammar's closing run of newlines ends the arguments: 4 tokens of the tiny byte-level model.
    const { result: cut, pieces } = await chat(runtime, { ...request, max_tokens: used - 8 });
    expect(cut.finishReason).toBe('length');
    expect(streamedCall(pieces, 0)).toEqual({ index: 0, ...cut.toolCalls?.[0] });
    expect(cut.toolCalls?.[0]?.name).toBe('get_weather');
    const args = cut.toolCalls?.[0]?.arguments ?? '';
    expect(() => JSON.parse(args)).toThrow();
    expect(JSON.stringify(JSON.parse(whole.toolCalls?.[0]?.arguments ?? ''))).toMatch(
      /^\{"city":"(Paris|Rome)"\}$/,
    );
    expect(cut.usage?.completionTokens).toBe(used - 8);
  });

  it('goes on from tool results: the prompt holds the call and its result', async () => {
    const withResult = (content: string): ChatRequest => ({
      messages: [
        ...question,
        {
          role: 'assistant',
          content: null,
          tool_calls: [weatherCall],
        },
        { role: 'tool', tool_call_id: 'call_1', content },
      ],
      tools: [weather],
      max_tokens: 5,
    });
    const short = await runtime.chat(withResult('{"celsius":20}'));
    const long = await runtime.chat(withResult('{"celsius":20,"sky":"clear, a light breeze from the west"}'));
    expect((long.usage?.promptTokens ?? 0) - (short.usage?.promptTokens ?? 0)).toBeGreaterThan(20);
  });

  it('refuses a parameter schema it cannot enforce before generating, naming the keyword', async () => {
    const strict = {
      type: 'function' as const,
      function: {
        name: 'lookup',
        parameters: { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{3}$' } } },
      },
    };
    const refused = await runtime.chat({ messages: question, tools: [weather, strict] }).catch((e) => e);
    expect(refused).toBeInstanceOf(PodUnsupportedError);
    expect(refused.param).toBe('tools[1].function.parameters.properties.code.pattern');
  });

  it('refuses a prompt longer than the context when a call is forced, as any other', async () => {
    const refused = await runtime
      .chat({
        messages: [{ role: 'user', content: 'word '.repeat(5_000) }],
        tools: [weather],
        tool_choice: 'required',
      })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(PodBadRequestError);
    expect(refused.param).toBe('messages');
    expect(refused.message).toMatch(/the model's context holds/);
  });

  it('refuses a tool_choice naming a tool that is not offered', async () => {
    const refused = await runtime
      .chat({
        messages: question,
        tools: [weather],
        tool_choice: { type: 'function', function: { name: 'x' } },
      })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(PodBadRequestError);
    expect(refused.param).toBe('tool_choice');
  });
});
