import { describe, expect, it } from 'vitest';
import { parseResponsesRequest, responsesAsChat } from './openai-responses-api.ts';

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

  it('refuses what needs a stored response, by name', () => {
    for (const field of ['previous_response_id', 'conversation', 'prompt']) {
      const parsed = parseResponsesRequest({ model: 'tiny', input: 'x', [field]: 'something' });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatchObject({ code: 'unsupported_parameter', param: field });
    }
    const background = parseResponsesRequest({ model: 'tiny', input: 'x', background: true });
    expect(background.ok).toBe(false);
    expect(parseResponsesRequest({ model: 'tiny', input: 'x', background: false, store: false }).ok).toBe(
      true,
    );
  });
});
