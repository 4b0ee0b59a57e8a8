// How a streamed background response ends: its events written into its log as they come, the last kept
// before its readers see it.
import type { ResponseEnvelope, ResponseObject } from '../../../protocol/openai-responses-api-output.ts';
import {
  isFinalEvent,
  type ResponseEvent,
  ResponseEventWriter,
} from '../../../protocol/openai-responses-api-stream.ts';
import { ResponseEventLog } from '../response-event-log.ts';

/**
 * A streamed background response's events: written into its log as they come, but for the last, which
 * `end` hands back to be kept before the log's readers see it.
 */
export class StreamedEvents {
  readonly log = new ResponseEventLog();
  readonly writer: ResponseEventWriter;
  #final: ResponseEvent | undefined;

  constructor(envelope: ResponseEnvelope) {
    this.writer = new ResponseEventWriter(envelope, (event) => {
      if (isFinalEvent(event)) this.#final = event;
      else this.log.append(event);
    });
  }

  end(response: ResponseObject): ResponseEvent {
    this.writer.end(response);
    const final = this.#final;
    if (final === undefined) throw new Error('the response writer sent no final event');
    return final;
  }
}
