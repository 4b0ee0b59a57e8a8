import { describe, expect, it } from 'vitest';
import { chatHistory } from './llama-chat-history.ts';

describe('chatHistory', () => {
  it('maps roles, and drops empty assistant text', () => {
    expect(
      chatHistory([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'assistant', content: '' },
      ]),
    ).toEqual([
      { type: 'system', text: 'Be brief.' },
      { type: 'user', text: 'Hi' },
      { type: 'model', response: ['Hello'] },
      { type: 'model', response: [] },
    ]);
  });

  it('gives each call the result its tool message brings, and continues the turn after the results', () => {
    const history = chatHistory([
      { role: 'user', content: 'Weather and time in Paris?' },
      {
        role: 'assistant',
        content: 'Checking.',
        toolCalls: [
          { id: 'a', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'b', name: 'get_time', arguments: 'not json' },
        ],
      },
      { role: 'tool', toolCallId: 'b', content: '12:00' },
      { role: 'tool', toolCallId: 'a', content: '{"celsius":20}' },
      { role: 'assistant', content: 'Sunny, 20 C, noon.' },
      { role: 'user', content: 'Thanks' },
    ]);
    expect(history).toEqual([
      { type: 'user', text: 'Weather and time in Paris?' },
      {
        type: 'model',
        response: [
          'Checking.',
          { type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: { celsius: 20 } },
          { type: 'functionCall', name: 'get_time', params: 'not json', result: '12:00' },
          'Sunny, 20 C, noon.',
        ],
      },
      { type: 'user', text: 'Thanks' },
    ]);
  });

  it('leaves the turn open when the conversation ends with results, and an unanswered call with a null result', () => {
    const history = chatHistory([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'get_weather', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'a', content: 'rain' },
    ]);
    expect(history.at(-1)).toEqual({
      type: 'model',
      response: [{ type: 'functionCall', name: 'get_weather', params: {}, result: 'rain' }],
    });
    const unanswered = chatHistory([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'get_weather', arguments: '{}' }] },
      { role: 'user', content: 'Never mind' },
    ]);
    expect(unanswered[1]).toEqual({
      type: 'model',
      response: [{ type: 'functionCall', name: 'get_weather', params: {}, result: null }],
    });
  });
});
