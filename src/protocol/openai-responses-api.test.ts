import { describe, expect, it } from 'vitest';
import {
  conversationIdOf,
  parseResponsesRequest,
  responsesAsChat,
  unansweredOutput,
} from './openai-responses-api.ts';

function asChat(body: Record<string, unknown>) {
  const parsed = parseResponsesRequest({ model: 'tiny', ...body });
  if (!parsed.ok) throw parsed.error;
  return responsesAsChat(parsed.value);
}

const call = (id: string) => ({ type: 'function_call', call_id: id, name: 'f', arguments: '{}' });

describe('the Responses API as a chat', () => {
  it('takes a string as one user message, after the instructions', () => {
    expect(asChat({ input: 'Hi', instructions: 'Be brief.' }).messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
    expect(asChat({ input: 'Hi', instructions: '' }).messages).toEqual([{ role: 'user', content: 'Hi' }]);
  });

  it('gathers calls made in a row into one assistant message, and their outputs as tool messages', () => {
    const chat = asChat({
      input: [
        { role: 'user', content: 'Do two things' },
        call('a'),
        call('b'),
        { type: 'function_call_output', call_id: 'b', output: [{ type: 'input_text', text: 'B done' }] },
        { type: 'function_call_output', call_id: 'a', output: 'A done' },
        { role: 'assistant', content: 'Both done.' },
        { role: 'developer', content: 'Be polite.' },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'user', content: 'Do two things' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } },
          { id: 'b', type: 'function', function: { name: 'f', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'b', content: 'B done' },
      { role: 'tool', tool_call_id: 'a', content: 'A done' },
      { role: 'assistant', content: 'Both done.' },
      { role: 'developer', content: 'Be polite.' },
    ]);
  });

  it('maps sampling, tools, the choice and the text format to their chat fields', () => {
    const chat = asChat({
      input: 'x',
      max_output_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      seed: 5,
      tools: [
        { type: 'function', name: 'f', description: null, parameters: { type: 'object' }, strict: true },
      ],
      tool_choice: { type: 'function', name: 'f' },
      parallel_tool_calls: false,
      text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true } },
      store: true,
      reasoning: { effort: 'low' },
      metadata: { a: 'b' },
    });
    expect(chat).toMatchObject({
      max_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      seed: 5,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      parallel_tool_calls: false,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'out', schema: { type: 'object' }, strict: true },
      },
    });
    expect(chat.tools?.[0]?.function).not.toHaveProperty('description');
    expect(asChat({ input: 'x', text: { format: { type: 'json_object' } } }).response_format).toEqual({
      type: 'json_object',
    });
  });

  it('refuses a tool offered twice and a choice naming no offered tool, where they sit in this API', () => {
    const tool = { type: 'function', name: 'f' };
    for (const [extra, param] of [
      [{ tools: [tool, tool] }, 'tools[1].name'],
      [{ tools: [tool], tool_choice: { type: 'function', name: 'g' } }, 'tool_choice.name'],
    ] as const) {
      const parsed = parseResponsesRequest({ model: 'tiny', input: 'x', ...extra });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatchObject({ code: 'invalid_request', param });
    }
  });

  it('refuses stored prompts by name, takes a conversation (not with previous_response_id) and background runs', () => {
    const prompt = parseResponsesRequest({ model: 'tiny', input: 'x', prompt: 'something' });
    expect(prompt.ok).toBe(false);
    if (!prompt.ok) expect(prompt.error).toMatchObject({ code: 'unsupported_parameter', param: 'prompt' });
    for (const conversation of ['conv_1', { id: 'conv_1' }]) {
      const parsed = parseResponsesRequest({ model: 'tiny', input: 'x', conversation });
      expect(parsed.ok && conversationIdOf(parsed.value)).toBe('conv_1');
    }
    for (const conversation of [7, { name: 'x' }, '']) {
      const parsed = parseResponsesRequest({ model: 'tiny', input: 'x', conversation });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatchObject({ code: 'invalid_request' });
    }
    const both = parseResponsesRequest({
      model: 'tiny',
      input: 'x',
      conversation: 'conv_1',
      previous_response_id: 'resp_1',
    });
    expect(both.ok).toBe(false);
    if (!both.ok) expect(both.error).toMatchObject({ code: 'invalid_request', param: 'conversation' });
    expect(parseResponsesRequest({ model: 'tiny', input: 'x', background: true }).ok).toBe(true);
    expect(parseResponsesRequest({ model: 'tiny', input: 'x', background: false, store: false }).ok).toBe(
      true,
    );
  });

  it('leaves the check of a function_call_output to the continuation when it continues a stored response', () => {
    const input = [{ type: 'function_call_output', call_id: 'call_1', output: '18 C' }];
    const alone = parseResponsesRequest({ model: 'tiny', input });
    expect(alone.ok).toBe(false);
    if (!alone.ok) expect(alone.error).toMatchObject({ code: 'invalid_request', param: 'input[0].call_id' });
    expect(parseResponsesRequest({ model: 'tiny', input, previous_response_id: 'resp_x' }).ok).toBe(true);
  });

  it('puts the earlier items first, after the instructions', () => {
    const parsed = parseResponsesRequest({
      model: 'tiny',
      instructions: 'Be brief.',
      previous_response_id: 'resp_x',
      input: [{ type: 'function_call_output', call_id: 'call_1', output: '18 C' }],
    });
    if (!parsed.ok) throw parsed.error;
    const chat = responsesAsChat(parsed.value, [
      { type: 'message', role: 'user', content: [{ text: 'Weather in ' }, { text: 'Paris?' }] },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{}' },
    ]);
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18 C' },
    ]);
  });

  it('finds the first output answering no call before it, from a given item on', () => {
    const call = { type: 'function_call', call_id: 'a', name: 'f', arguments: '{}' } as const;
    const output = (id: string) => ({ type: 'function_call_output', call_id: id, output: 'x' }) as const;
    expect(unansweredOutput([call, output('a')])).toBeUndefined();
    expect(unansweredOutput([output('a'), call])).toBe(0);
    expect(unansweredOutput([output('b'), call, output('a'), output('c')], 1)).toBe(3);
  });
});
