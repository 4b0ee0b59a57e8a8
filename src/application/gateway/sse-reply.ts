// A server-sent event stream that opens lazily: until the first event the request can still fail with an
// ordinary HTTP error (503 no node, 402, ...); after it, a failure becomes an `error` event, as OpenAI does.
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { SSE_DONE, sseEvent } from '../../protocol/openai-responses.ts';

function named(name: string | undefined, event: string): string {
  return name === undefined ? event : `event: ${name}\n${event}`;
}

export class SseReply {
  private stream: PassThrough | undefined;

  constructor(private readonly reply: FastifyReply) {}

  get started(): boolean {
    return this.stream !== undefined;
  }

  /**
   * Opens the stream before its first event: the client is answered 200 at once (a first comment line
   * sends the headers, which Node holds back until the body's first bytes) and waits for events.
   */
  begin(): void {
    this.open().write(': open\n\n');
  }

  /** A comment line, which clients skip: keeps a quiet stream's connection from idling out in proxies. */
  comment(text: string): void {
    if (this.stream?.writable === true) this.stream.write(`: ${text}\n\n`);
  }

  /**
   * Sends one `data:` event with a JSON payload, opening the stream first if needed; named by an
   * `event:` line when `name` is given (the Responses API names each event by its type).
   */
  send(payload: unknown, name?: string): void {
    this.open().write(named(name, sseEvent(payload)));
  }

  /** `data: [DONE]` and the end of the response. */
  done(): void {
    const stream = this.open();
    stream.end(SSE_DONE);
  }

  /** The end of a stream that has no `[DONE]` (the Responses API's). */
  end(): void {
    this.open().end();
  }

  /** Ends an open stream with an error event (the OpenAI SDK throws it as an APIError); no `[DONE]`. */
  fail(body: unknown, name?: string): void {
    this.open().end(named(name, sseEvent(body)));
  }

  private open(): PassThrough {
    if (this.stream !== undefined) return this.stream;
    const stream = new PassThrough();
    this.stream = stream;
    this.reply
      .code(200)
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('connection', 'keep-alive')
      // Proxies such as nginx would otherwise buffer the whole stream.
      .header('x-accel-buffering', 'no')
      .send(stream);
    return stream;
  }
}
