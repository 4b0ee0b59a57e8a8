// A streamed background response's events while it runs on this router: kept in memory, numbered, and
// handed to every reader following it (the request that created it, GET /v1/responses/:id?stream=true),
// each from the event it asked for. A reader that leaves stops following; the response goes on.
import type { ResponseEvent } from '../../protocol/openai-responses-api-stream.ts';

export interface EventReader {
  event(event: ResponseEvent): void;
  /** The stream has ended: no event follows. */
  end(): void;
}

export class ResponseEventLog {
  readonly #events: ResponseEvent[] = [];
  readonly #readers = new Set<EventReader>();
  #ended = false;

  /** Every event so far, in order. */
  get events(): readonly ResponseEvent[] {
    return this.#events;
  }

  get ended(): boolean {
    return this.#ended;
  }

  append(event: ResponseEvent): void {
    if (this.#ended) throw new Error('the response stream has ended');
    this.#events.push(event);
    for (const reader of this.#readers) reader.event(event);
  }

  /** Ends the stream for every reader. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const reader of this.#readers) reader.end();
    this.#readers.clear();
  }

  /**
   * Hands the reader the events numbered after `startingAfter` (all of them when undefined), then each
   * new one until the end. Returns how to stop following.
   */
  follow(startingAfter: number | undefined, reader: EventReader): () => void {
    const after = startingAfter ?? -1;
    // A starting point past the events so far skips the new ones up to it too.
    const from: EventReader = {
      event: (event) => {
        if (event.sequence_number > after) reader.event(event);
      },
      end: () => reader.end(),
    };
    for (const event of this.#events) from.event(event);
    if (this.#ended) {
      reader.end();
      return () => {};
    }
    this.#readers.add(from);
    return () => this.#readers.delete(from);
  }
}
