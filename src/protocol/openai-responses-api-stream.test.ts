// The Responses API's event stream as the writer builds it from a node's pieces: calls streamed as they
// come, one item after another, and the response holding the result's calls whatever was streamed.
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { parseResponsesRequest } from './openai-responses-api.ts';
import { ResponseEventWriter } from './openai-responses-api-stream.ts';

const paris = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
const rome = { id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' };
const usage = { inputTokens: 3, outputTokens: 9 };

function writer() {
  const parsed = parseResponsesRequest({ model: 'm', input: 'Weather?' });
  if (!parsed.ok) throw parsed.error;
  const events: ResponseStreamEvent[] = [];
  const envelope = { id: 'resp_1', model: 'm', createdAt: 1, request: parsed.value, store: false };
  return { events, writer: new ResponseEventWriter(envelope, (event) => events.push(event)) };
}

/** Each event as a line: its type, the item's place, and what it carries. */
function lines(events: readonly ResponseStreamEvent[]): string[] {
  return events.map((e) => {
    if (e.type === 'response.function_call_arguments.delta') return `delta ${e.output_index} ${e.delta}`;
    if (e.type === 'response.function_call_arguments.done') return `done ${e.output_index} ${e.arguments}`;
    if (e.type === 'response.output_item.added' || e.type === 'response.output_item.done') {
      return `${e.type.slice('response.output_item.'.length)} ${e.output_index} ${e.item.type}`;
    }
    return e.type;
  });
}

describe('ResponseEventWriter: calls', () => {
  it('streams calls one item after another, the text done before them', () => {
    const { writer: w, events } = writer();
    w.start();
    w.piece({ delta: 'Checking.' });
    w.piece({ delta: '', toolCall: { index: 0, ...paris, arguments: '{"city":' } });
    w.piece({ delta: '', toolCall: { index: 0, arguments: '"Paris"}' } });
    w.piece({ delta: '', toolCall: { index: 1, ...rome } });
    // Text after the calls is not the stream's: the result's text stands.
    w.piece({ delta: 'late' });
    const response = w.finish(
      { text: 'Checking.', finishReason: 'tool_calls', toolCalls: [paris, rome] },
      usage,
    );
    expect(lines(events)).toEqual([
      'response.created',
      'response.in_progress',
      'added 0 message',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'done 0 message',
      'added 1 function_call',
      'delta 1 {"city":',
      'delta 1 "Paris"}',
      `done 1 ${paris.arguments}`,
      'done 1 function_call',
      'added 2 function_call',
      `delta 2 ${rome.arguments}`,
      `done 2 ${rome.arguments}`,
      'done 2 function_call',
    ]);
    expect(response.output.map((item) => item.type)).toEqual(['message', 'function_call', 'function_call']);
  });

  it('answers the calls of the result, whatever a node streamed of them', () => {
    const { writer: w, events } = writer();
    w.start();
    w.toolCall({ index: 0, ...paris, arguments: '{"ci' });
    w.toolCall({ index: 1, ...rome, arguments: '' });
    w.toolCall({ index: 2, id: 'call_3', name: 'get_time', arguments: '{}' });
    const response = w.finish({ text: '', finishReason: 'tool_calls', toolCalls: [paris, rome] }, usage);
    expect(lines(events).slice(2)).toEqual([
      'added 0 function_call',
      'delta 0 {"ci',
      'done 0 {"ci',
      'done 0 function_call',
      'added 1 function_call',
      'done 1 ',
      'done 1 function_call',
      'added 2 function_call',
      'delta 2 {}',
    ]);
    // Items done as streamed take no more, and are answered as the result has them; a call the result
    // does not have is not answered.
    expect(response.output).toMatchObject([
      { type: 'function_call', call_id: 'call_1', arguments: paris.arguments, status: 'completed' },
      { type: 'function_call', call_id: 'call_2', arguments: rome.arguments, status: 'completed' },
    ]);
  });
});

describe('ResponseEventWriter: a job that fails', () => {
  it('ends the items it left open as incomplete, with what was streamed of them', () => {
    const { writer: w, events } = writer();
    w.start();
    w.piece({ delta: 'Checking.' });
    w.piece({ delta: '', toolCall: { index: 0, ...paris, arguments: '{"city":' } });
    const from = events.length;
    const output = w.cut();
    expect(lines(events.slice(from))).toEqual(['done 1 {"city":', 'done 1 function_call']);
    expect(output).toMatchObject([
      { type: 'message', status: 'completed', content: [{ text: 'Checking.' }] },
      { type: 'function_call', status: 'incomplete', arguments: '{"city":' },
    ]);
    // Nothing is left open: a second cut sends nothing.
    expect(w.cut()).toHaveLength(2);
    expect(events.length).toBe(from + 2);
  });

  it('ends an open message as incomplete, and sends nothing when no item was opened', () => {
    const { writer: w, events } = writer();
    w.start();
    w.text('Hel');
    expect(w.cut()).toMatchObject([{ type: 'message', status: 'incomplete', content: [{ text: 'Hel' }] }]);
    expect(events.at(-1)).toMatchObject({
      type: 'response.output_item.done',
      item: { status: 'incomplete' },
    });
    const quiet = writer();
    quiet.writer.start();
    expect(quiet.writer.cut()).toEqual([]);
    expect(quiet.events.map((e) => e.type)).toEqual(['response.created', 'response.in_progress']);
  });
});
