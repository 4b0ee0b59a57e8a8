// GET /v1/responses/:id?stream=true: a background response created with stream: true streamed again,
// from its first event or after `starting_after`. One running on this router is followed live; one that
// ended is replayed from the store; one running on another router of the gateway is waited for (the
// store read every half second) and replayed once it has ended. One whose router was lost ends with
// `response.failed`.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import type { Address } from 'viem';
import { FatalError, RetryableError } from '../../../protocol/errors.ts';
import { isFinalEvent, type ResponseEvent } from '../../../protocol/openai-responses-api-stream.ts';
import type { KeptResponse, ResponseStore } from '../ports.ts';
import { followEvents, ResponseEventReply } from '../response-event-reply.ts';
import { type BackgroundResponses, unfinished } from './background-response.ts';

/** How often the store is read for the end of a response running on another router. */
export const OTHER_ROUTER_POLL_MS = 500;

export async function streamKeptResponse(p: {
  id: string;
  account: Address;
  kept: KeptResponse;
  startingAfter: number | undefined;
  reply: FastifyReply;
  stored: ResponseStore;
  backgrounds: BackgroundResponses;
}): Promise<FastifyReply> {
  const { id, account, reply, stored, backgrounds, startingAfter } = p;
  if (p.kept.streamed !== true) {
    throw new FatalError('invalid_request', {
      message: `Response ${id} was not created with background and stream true, so it has no events to stream again: retrieve it whole`,
      param: 'stream',
    });
  }
  const live = backgrounds.events(id);
  if (live !== undefined) return followEvents(reply, live, startingAfter);

  const events = new ResponseEventReply(reply);
  try {
    let current = await backgrounds.current(id, account, p.kept);
    while (unfinished(current) && events.open) {
      await sleep(OTHER_ROUTER_POLL_MS);
      if (backgrounds.closing.aborted) {
        throw new RetryableError('service_unavailable', {
          message: `This router is shutting down: read response ${id} again from another`,
        });
      }
      const again = await stored.find(id, account);
      // Deleted meanwhile: nothing more to tell.
      if (again === undefined) {
        events.end();
        return reply;
      }
      current = await backgrounds.current(id, account, again);
    }
    if (!events.open) return reply;
    const kept: ResponseEvent[] = (await stored.events(id, account)) ?? [];
    const last = kept.at(-1);
    // Its router was lost before its end was written: the end the store now says is told as the last event.
    if (!isFinalEvent(last)) {
      kept.push({
        type: 'response.failed',
        response: current as never,
        sequence_number: (last?.sequence_number ?? -1) + 1,
      });
    }
    events.sendAll(kept, startingAfter);
    events.end();
  } catch (error) {
    if (!backgrounds.closing.aborted)
      reply.log.error({ err: error, response: id }, 'streaming a kept response failed');
    events.fail(error);
  }
  return reply;
}
