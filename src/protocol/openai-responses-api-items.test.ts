import type { ResponseItem, ResponseOutputItem } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { parseResponsesRequest, requestItems } from './openai-responses-api.ts';
import { type ContextItem, contextOf, outputContext } from './openai-responses-api-items.ts';

function itemsOf(input: unknown): ContextItem[] {
  const parsed = parseResponsesRequest({ model: 'tiny', input, previous_response_id: 'resp_x' });
  if (!parsed.ok) throw parsed.error;
  return contextOf(requestItems(parsed.value));
}

describe('a response conversation as items', () => {
  it('keeps a request item by item, with ids, statuses and text parts of the role’s kind', () => {
    const items = itemsOf([
      { role: 'user', content: 'Weather in Paris?' },
      {
        type: 'message',
        id: 'msg_given',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Let me see.' }],
      },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: [{ type: 'input_text', text: '18 C' }] },
      { type: 'message', role: 'developer', content: [{ type: 'output_text', text: 'Answer in French.' }] },
    ]);
    expect(items).toEqual([
      {
        id: expect.stringMatching(/^msg_[0-9A-Za-z]{24}$/),
        type: 'message',
        role: 'user',
        status: 'completed',
        content: [{ type: 'input_text', text: 'Weather in Paris?' }],
      },
      {
        id: 'msg_given',
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Let me see.', annotations: [] }],
      },
      {
        id: expect.stringMatching(/^fc_/),
        type: 'function_call',
        call_id: 'call_1',
        name: 'get_weather',
        arguments: '{"city":"Paris"}',
        status: 'completed',
      },
      {
        id: expect.stringMatching(/^fco_/),
        type: 'function_call_output',
        call_id: 'call_1',
        output: [{ type: 'input_text', text: '18 C' }],
        status: 'completed',
      },
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'developer',
        status: 'completed',
        content: [{ type: 'input_text', text: 'Answer in French.' }],
      },
    ]);
    // OpenAI's own item types take them as they are.
    const asSdk: ResponseItem[] = items;
    expect(asSdk).toHaveLength(5);
  });

  it('gives an id of its own where the caller’s is not an id (a short string of printable ASCII)', () => {
    for (const id of ['x'.repeat(129), '', 'a b', 'a\u0000', 'é', 7]) {
      const [item] = itemsOf([{ role: 'user', id, content: 'hi' }]);
      expect(item?.id, String(id)).toMatch(/^msg_[0-9A-Za-z]{24}$/);
    }
    expect(itemsOf([{ role: 'user', id: 'x'.repeat(128), content: 'hi' }])[0]?.id).toBe('x'.repeat(128));
  });

  it("reads a response's output as the items that continue it, and they are valid input again", () => {
    const output: ResponseOutputItem[] = [
      {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        status: 'incomplete',
        content: [{ type: 'output_text', text: 'Checking.', annotations: [] }],
      },
      {
        id: 'fc_1',
        type: 'function_call',
        call_id: 'call_1',
        name: 'f',
        arguments: '{}',
        status: 'completed',
      },
    ];
    const items = outputContext(output);
    // The same fields, in the items' own shape.
    expect(items).toEqual(output);
    expect(itemsOf(items)).toEqual(items);
  });
});
