import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readServerSentEvents, type ServerSentEvent } from './sse.ts';

function streamOf(chunks: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks)
        controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
}

async function collect(chunks: Array<string | Uint8Array>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(streamOf(chunks))) events.push(event);
  return events;
}

describe('readServerSentEvents', () => {
  it('yields data events as OpenAI-compatible servers send them', async () => {
    const events = await collect(['data: {"a":1}\n\n', 'data: [DONE]\n\n']);
    expect(events).toEqual([
      { event: 'message', data: '{"a":1}' },
      { event: 'message', data: '[DONE]' },
    ]);
  });

  it('joins multi-line data, reads event names and skips comments and unknown fields', async () => {
    const events = await collect([': keep-alive\n', 'event: delta\nid: 7\ndata: one\ndata:two\n\n']);
    expect(events).toEqual([{ event: 'delta', data: 'one\ntwo' }]);
  });

  it('handles events and line endings split across chunks, CRLF included', async () => {
    const events = await collect(['da', 'ta: x\r', '\n\r', '\ndata: y\r\rdata: z\n', '\n']);
    expect(events).toEqual([
      { event: 'message', data: 'x' },
      { event: 'message', data: 'y' },
      { event: 'message', data: 'z' },
    ]);
  });

  it('keeps a multi-byte character split across chunks intact', async () => {
    const bytes = new TextEncoder().encode('data: é→\n\n');
    const events = await collect([bytes.subarray(0, 7), bytes.subarray(7, 9), bytes.subarray(9)]);
    expect(events).toEqual([{ event: 'message', data: 'é→' }]);
  });

  it('drops an event cut off by the end of the stream and blank events', async () => {
    expect(await collect(['\n\n', 'event: x\n\n', 'data: complete\n\n', 'data: cut off'])).toEqual([
      { event: 'message', data: 'complete' },
    ]);
    expect(await collect([])).toEqual([]);
  });

  it('reads a Node Readable (an HTTP response body) as it reads a web stream', async () => {
    const bytes = Buffer.from('data: é\r\n\r\nevent: x\ndata: [DONE]\n\n');
    const body = Readable.from([bytes.subarray(0, 7), bytes.subarray(7, 10), bytes.subarray(10)]);
    const events: ServerSentEvent[] = [];
    for await (const event of readServerSentEvents(body)) events.push(event);
    expect(events).toEqual([
      { event: 'message', data: 'é' },
      { event: 'x', data: '[DONE]' },
    ]);
  });

  it('stops reading where its consumer stops, leaving the rest of the source unread', async () => {
    let pulled = 0;
    async function* source() {
      for (const text of ['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n']) {
        pulled += 1;
        yield new TextEncoder().encode(text);
      }
    }
    for await (const event of readServerSentEvents(source())) {
      expect(event.data).toBe('1');
      break;
    }
    expect(pulled).toBe(1);
  });
});
