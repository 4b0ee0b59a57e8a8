import { describe, expect, it } from 'vitest';
import { parseChatCompletionRequest, podMessages } from './openai.ts';
import { podTools } from './openai-tools.ts';

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
    strict: true,
  },
};
const call = {
  id: 'call_1',
  type: 'function',
  function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
};
const conversation = [
  { role: 'user', content: 'Weather in Paris?' },
  { role: 'assistant', content: null, tool_calls: [call] },
  { role: 'tool', tool_call_id: 'call_1', content: '{"celsius":20}' },
];
const chat = (extra: Record<string, unknown>) => ({ model: 'tiny', messages: conversation, ...extra });

function refusal(body: unknown) {
  const result = parseChatCompletionRequest(body);
  if (result.ok) throw new Error('expected a refusal');
  return { code: result.error.code, param: result.error.param, message: result.error.message };
}

describe('tool calling requests', () => {
  it('accepts tools, every tool_choice, parallel_tool_calls and a conversation with calls and results', () => {
    for (const tool_choice of [
      undefined,
      null,
      'none',
      'auto',
      'required',
      { type: 'function', function: { name: 'get_weather' } },
    ]) {
      const parsed = parseChatCompletionRequest(
        chat({ tools: [weather], tool_choice, parallel_tool_calls: false }),
      );
      expect(parsed.ok).toBe(true);
    }
  });

  it('hands a node the tools, the choice (auto by default) and the messages with calls and results', () => {
    const parsed = parseChatCompletionRequest(chat({ tools: [weather] }));
    if (!parsed.ok) throw parsed.error;
    expect(podTools(parsed.value)).toEqual({
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather of a city',
            parameters: weather.function.parameters,
          },
        },
      ],
      tool_choice: 'auto',
    });
    expect(podMessages(parsed.value.messages)).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', tool_calls: [call] },
      { role: 'tool', content: '{"celsius":20}', tool_call_id: 'call_1' },
    ]);
    expect(podTools({ tools: [], tool_choice: 'auto' })).toBeUndefined();
    expect(podTools({ tools: null })).toBeUndefined();
    // Only a `false` travels: the pods' default is OpenAI's.
    const single = parseChatCompletionRequest(chat({ tools: [weather], parallel_tool_calls: false }));
    if (!single.ok) throw single.error;
    expect(podTools(single.value)).toMatchObject({ parallel_tool_calls: false, tool_choice: 'auto' });
    const parallel = parseChatCompletionRequest(chat({ tools: [weather], parallel_tool_calls: true }));
    if (!parallel.ok) throw parallel.error;
    expect(podTools(parallel.value)).not.toHaveProperty('parallel_tool_calls');
  });

  it.each([
    [
      { tools: [{ type: 'function', function: { name: 'has space' } }] },
      'tools[0].function.name',
      /letters, digits/,
    ],
    [{ tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type', /only function tools/],
    [{ tools: [weather, weather] }, 'tools[1].function.name', /offered twice/],
    [
      { tools: [{ type: 'function', function: { name: 'f', parameters: 'none' } }] },
      'tools[0].function.parameters',
      /object|record/i,
    ],
    [{ tool_choice: 'required' }, 'tool_choice', /needs tools/],
    [{ tools: [weather], tool_choice: 'always' }, 'tool_choice', /'none', 'auto', 'required'/],
    [
      { tools: [weather], tool_choice: { type: 'function', function: { name: 'other' } } },
      'tool_choice.function.name',
      /no tool named other/,
    ],
  ])('refuses %j, naming the field', (extra, param, message) => {
    const error = refusal(chat(extra));
    expect(error).toMatchObject({ code: 'invalid_request', param });
    expect(error.message).toMatch(message);
  });

  it('refuses a tool message that answers no earlier call, and a call of another kind', () => {
    const orphan = refusal({
      model: 'tiny',
      messages: [
        { role: 'user', content: 'x' },
        { role: 'tool', tool_call_id: 'call_9', content: 'y' },
      ],
    });
    expect(orphan).toMatchObject({ code: 'invalid_request', param: 'messages[1].tool_call_id' });
    const custom = refusal(
      chat({ messages: [{ role: 'assistant', tool_calls: [{ ...call, type: 'custom' }] }] }),
    );
    expect(custom).toMatchObject({ param: 'messages[0].tool_calls[0].type' });
    expect(refusal(chat({ messages: [{ role: 'function', name: 'f', content: 'x' }] })).message).toMatch(
      /system, developer, user, assistant, tool/,
    );
  });
});
