import { describe, expect, it } from 'vitest';
import type { ToolCallDelta } from '../../protocol/messages/jobs.ts';
import { PodUpstreamError } from './errors.ts';
import {
  ChatResponseWire,
  finishReasonOf,
  messagesBody,
  StreamChunkWire,
  StreamedToolCalls,
  type ToolCallPiece,
  toolCallsOf,
  toolsBody,
} from './openai-wire.ts';
import { weatherCall, weatherTool } from './testing/weather-tool.ts';
import { type ChatRequest, parseChatRequest } from './types.ts';

const weather = weatherTool;

/** The calls of a whole chat answer, read as the runtime reads them. */
function callsOf(toolCalls: unknown[]) {
  const wire = ChatResponseWire.parse({
    choices: [{ message: { content: null, tool_calls: toolCalls }, finish_reason: 'tool_calls' }],
  });
  return toolCallsOf(wire.choices[0]?.message.tool_calls);
}

/** The pieces of one streamed chunk, read as the runtime reads them. */
function pieces(toolCalls: unknown[]): ToolCallPiece[] {
  const chunk = StreamChunkWire.parse({ choices: [{ delta: { tool_calls: toolCalls } }] });
  return chunk.choices?.[0]?.delta?.tool_calls ?? [];
}

describe('openai wire: tool calls of a whole answer', () => {
  it("reads OpenAI's calls as sent", () => {
    const calls = callsOf([
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ]);
    expect(calls).toEqual([
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_2', name: 'get_time', arguments: '{}' },
    ]);
  });

  it("turns Ollama's object arguments into JSON text and makes an id where there is none", () => {
    const [call, bare] = callsOf([
      { function: { name: 'get_weather', arguments: { city: 'Rome', days: 2 } } },
      { id: '', type: 'function', function: { name: 'get_time' } },
    ]);
    expect(call?.name).toBe('get_weather');
    expect(JSON.parse(call?.arguments ?? '')).toEqual({ city: 'Rome', days: 2 });
    expect(call?.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(bare).toMatchObject({ name: 'get_time', arguments: '{}' });
    expect(bare?.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(bare?.id).not.toBe(call?.id);
  });

  it('skips calls of other kinds of tool, and has none when the message has none', () => {
    const calls = callsOf([
      { id: 'ct_1', type: 'custom', custom: { name: 'grep', input: 'x' } },
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
    ]);
    expect(calls.map((c) => c.id)).toEqual(['call_1']);
    expect(toolCallsOf(undefined)).toEqual([]);
    expect(toolCallsOf(null)).toEqual([]);
  });

  it('refuses a function call without a name as malformed', () => {
    const answer = (call: unknown) => ({ choices: [{ message: { tool_calls: [call] } }] });
    expect(ChatResponseWire.safeParse(answer({ type: 'function', function: { name: '' } })).success).toBe(
      false,
    );
    expect(ChatResponseWire.safeParse(answer({ type: 'function' })).success).toBe(false);
    expect(ChatResponseWire.safeParse(answer({ id: 'x' })).success).toBe(false);
  });
});

describe('openai wire: finish reasons', () => {
  it('makes any answer with calls a tool_calls one unless it was cut short', () => {
    // Ollama says 'stop' with calls.
    expect(finishReasonOf('stop', 1)).toBe('tool_calls');
    expect(finishReasonOf('tool_calls', 2)).toBe('tool_calls');
    expect(finishReasonOf('function_call', 1)).toBe('tool_calls');
    expect(finishReasonOf('length', 1)).toBe('length');
  });

  it('makes tool_calls without a function call a plain stop', () => {
    expect(finishReasonOf('tool_calls', 0)).toBe('stop');
    expect(finishReasonOf('function_call')).toBe('stop');
    expect(finishReasonOf('eos')).toBe('stop');
    expect(finishReasonOf('length')).toBe('length');
  });
});

describe('openai wire: streamed tool calls', () => {
  it("assembles OpenAI's pieces by index: id and name first, arguments in parts", () => {
    const calls = new StreamedToolCalls();
    const taken = [
      calls.add(
        pieces([
          { index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ]),
      ),
      calls.add(pieces([{ index: 0, function: { arguments: '{"city":' } }])),
      calls.add(
        pieces([
          { index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{' } },
        ]),
      ),
      calls.add(pieces([{ index: 0, function: { arguments: '"Paris"}' } }])),
      calls.add(pieces([{ index: 1, function: { arguments: '}' } }])),
    ];
    expect(taken).toEqual([1, 1, 1, 1, 1]);
    expect(calls.result()).toEqual([
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_b', name: 'get_time', arguments: '{}' },
    ]);
  });

  it('keeps the first id and name when a server repeats them, and orders calls as they begin', () => {
    const calls = new StreamedToolCalls();
    calls.add(pieces([{ index: 1, id: 'call_b', function: { name: 'get_time', arguments: '{}' } }]));
    calls.add(pieces([{ index: 0, id: 'call_a', function: { name: 'get_weather', arguments: '{"city"' } }]));
    calls.add(pieces([{ index: 0, id: 'call_a', function: { name: 'get_weather', arguments: ':"Rome"}' } }]));
    expect(calls.result()).toEqual([
      { id: 'call_b', name: 'get_time', arguments: '{}' },
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
  });

  it('passes each call on from the piece that names it, numbered as they begin, adding up to the result', () => {
    const relayed: ToolCallDelta[] = [];
    const calls = new StreamedToolCalls((piece) => relayed.push(piece));
    calls.add(pieces([{ index: 0, type: 'function', function: { arguments: '{"ci' } }]));
    calls.add(pieces([{ index: 0, id: 'call_a', function: { name: 'get_weather', arguments: 'ty":' } }]));
    calls.add(pieces([{ index: 0, function: { arguments: '"Oslo"}' } }]));
    calls.add(pieces([{ index: 1, function: { name: 'get_time' } }]));
    const result = calls.result();
    const [, time] = result;
    expect(time?.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(relayed).toEqual([
      { index: 0, id: 'call_a', name: 'get_weather', arguments: '{"city":' },
      { index: 0, arguments: '"Oslo"}' },
      { index: 1, id: time?.id, name: 'get_time', arguments: '' },
      { index: 1, arguments: '{}' },
    ]);
    for (const [index, call] of result.entries()) {
      const said = relayed.filter((piece) => piece.index === index);
      expect(said.map((piece) => piece.arguments).join('')).toBe(call.arguments);
    }
  });

  it('closes a call that brought no arguments with {} when the next begins, as its pieces said', () => {
    const relayed: ToolCallDelta[] = [];
    const calls = new StreamedToolCalls((piece) => relayed.push(piece));
    calls.add(pieces([{ index: 0, id: 'a', type: 'function', function: { name: 'now' } }]));
    calls.add(pieces([{ index: 1, id: 'b', type: 'function', function: { name: 'now', arguments: '{' } }]));
    calls.add(pieces([{ index: 1, function: { arguments: '}' } }]));
    expect(relayed).toEqual([
      { index: 0, id: 'a', name: 'now', arguments: '' },
      { index: 0, arguments: '{}' },
      { index: 1, id: 'b', name: 'now', arguments: '{' },
      { index: 1, arguments: '}' },
    ]);
    expect(calls.result().map((call) => call.arguments)).toEqual(['{}', '{}']);
    expect(relayed).toHaveLength(4);
  });

  it('takes whole calls without index or id (Ollama), object arguments included', () => {
    const calls = new StreamedToolCalls();
    calls.add(
      pieces([
        { function: { name: 'get_weather', arguments: { city: 'Paris' } } },
        { function: { name: 'get_time' } },
      ]),
    );
    const [weatherCall, timeCall] = calls.result();
    expect(weatherCall).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(weatherCall?.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(timeCall).toMatchObject({ name: 'get_time', arguments: '{}' });
  });

  it('skips a call of another kind of tool, its later pieces too', () => {
    const calls = new StreamedToolCalls();
    expect(calls.add(pieces([{ index: 0, id: 'ct_1', type: 'custom' }]))).toBe(0);
    expect(calls.add(pieces([{ index: 0, function: { arguments: 'ignored' } }]))).toBe(0);
    calls.add(pieces([{ index: 1, id: 'call_1', type: 'function', function: { name: 'get_time' } }]));
    expect(calls.result()).toEqual([{ id: 'call_1', name: 'get_time', arguments: '{}' }]);
    expect(new StreamedToolCalls().result()).toEqual([]);
  });

  it('fails a stream whose call never got a name', () => {
    const calls = new StreamedToolCalls();
    calls.add(pieces([{ index: 0, function: { arguments: '{}' } }]));
    expect(() => calls.result()).toThrow(PodUpstreamError);
  });
});

describe('openai wire: tool calling requests', () => {
  const history: ChatRequest = {
    tools: [weather],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [weatherCall],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      { role: 'assistant', content: 'Sunny.', tool_calls: [] },
    ],
  };

  it("sends the history's calls and their answers in OpenAI's shape", () => {
    const { messages } = parseChatRequest(history);
    expect(messagesBody(messages)).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [weatherCall],
      },
      { role: 'tool', content: '{"temp":21}', tool_call_id: 'call_1' },
      { role: 'assistant', content: 'Sunny.' },
    ]);
  });

  it("sends the offer in OpenAI's shape, tool_choice 'none' included, and nothing without tools", () => {
    const named = parseChatRequest(history).tools;
    expect(toolsBody(named)).toEqual({
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const required = parseChatRequest({ ...history, tool_choice: 'required' }).tools;
    expect(toolsBody(required)).toEqual({ tools: [weather], tool_choice: 'required' });
    const auto = parseChatRequest({ ...history, tool_choice: undefined }).tools;
    expect(toolsBody(auto)).toEqual({ tools: [weather], tool_choice: 'auto' });
    expect(toolsBody(parseChatRequest({ ...history, tool_choice: 'none' }).tools)).toEqual({
      tools: [weather],
      tool_choice: 'none',
    });
    expect(toolsBody(parseChatRequest({ ...history, tools: [] }).tools)).toEqual({});
    expect(toolsBody(undefined)).toEqual({});
  });

  it('tells the server to make one call only when the caller said so: its own default stands otherwise', () => {
    const single = parseChatRequest({ ...history, tool_choice: 'auto', parallel_tool_calls: false }).tools;
    expect(toolsBody(single)).toEqual({ tools: [weather], tool_choice: 'auto', parallel_tool_calls: false });
    const several = parseChatRequest({ ...history, tool_choice: 'auto', parallel_tool_calls: true }).tools;
    expect(toolsBody(several)).toEqual({ tools: [weather], tool_choice: 'auto' });
  });
});
