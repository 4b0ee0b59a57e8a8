// A streamed background response's events answered as server-sent events (each named by its type, no
// `[DONE]`, as OpenAI's Responses API streams): followed live from this router's log, or replayed from
// the store once the response has ended; a quiet stream is kept alive with comment lines.
import type { FastifyReply } from 'fastify';
import { toOpenAIError } from '../../protocol/errors.ts';
import type { ResponseEvent } from '../../protocol/openai-responses-api-stream.ts';
import type { ResponseEventLog } from './response-event-log.ts';
import { SseReply } from './sse-reply.ts';

/** How often a quiet stream gets a comment line (proxies commonly drop a connection idle for 60 s). */
export const KEEP_ALIVE_MS = 15_000;

/** An open event stream whose connection is kept alive until it ends or its client leaves. */
export class ResponseEventReply {
  readonly #sse: SseReply;
  readonly #keepAlive: NodeJS.Timeout;
  #open = true;

  constructor(reply: FastifyReply) {
    this.#sse = new SseReply(reply);
    this.#sse.begin();
    this.#keepAlive = setInterval(() => this.#sse.comment('keep-alive'), KEEP_ALIVE_MS);
    this.#keepAlive.unref();
    reply.raw.once('close', () => this.#close());
  }

  /** Whether the client is still there and the stream not ended. */
  get open(): boolean {
    return this.#open;
  }

  send(event: ResponseEvent): void {
    if (this.#open) this.#sse.send(event, event.type);
  }

  /** The events numbered after `startingAfter` (all when undefined). */
  sendAll(events: readonly ResponseEvent[], startingAfter: number | undefined): void {
    for (const event of events) {
      if (startingAfter === undefined || event.sequence_number > startingAfter) this.send(event);
    }
  }

  end(): void {
    if (!this.#open) return;
    this.#close();
    this.#sse.end();
  }

  /** Ends the stream with OpenAI's `error` event (what the SDK throws on). */
  fail(error: unknown): void {
    if (!this.#open) return;
    this.#close();
    const body = toOpenAIError(error);
    const { message, code, param } = body.error;
    this.#sse.fail({ ...body, type: 'error', message, code, param }, 'error');
  }

  #close(): void {
    this.#open = false;
    clearInterval(this.#keepAlive);
  }
}

/** Answers with the log's events after `startingAfter`, then each new one until its end. */
export function followEvents(
  reply: FastifyReply,
  log: ResponseEventLog,
  startingAfter: number | undefined,
): FastifyReply {
  const events = new ResponseEventReply(reply);
  const stop = log.follow(startingAfter, { event: (event) => events.send(event), end: () => events.end() });
  reply.raw.once('close', stop);
  return reply;
}
