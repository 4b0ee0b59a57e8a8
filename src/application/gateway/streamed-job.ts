// A job answered as a stream of server-sent events: the stream opens with the job's first output (until
// then a failure is an ordinary HTTP error: 402, 503...), then carries each chunk, then the end; a failure
// after the first event ends it with an error event, as OpenAI's streams do.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StreamPiece } from '../../protocol/messages/jobs.ts';
import type { GatewayContext } from './context.ts';
import type { JobRequest, JobRun } from './job-request.ts';
import { SseReply } from './sse-reply.ts';

/** What a route sends on the stream it is given. */
export interface StreamHandlers {
  /** The first events, sent once, before the first chunk or the end. */
  open(): void;
  /** A piece of text of a choice, with its tokens' log probabilities when they were asked. */
  chunk(piece: StreamPiece): void;
  /** The rest of the answer once the job is charged; ends the stream. */
  finish(run: JobRun): void | Promise<void>;
  /** Ends a stream that had started with the failure's error event. */
  fail(error: unknown): void | Promise<void>;
}

export async function streamJob(
  context: GatewayContext,
  request: FastifyRequest,
  reply: FastifyReply,
  job: Omit<JobRequest, 'stream' | 'onChunk'>,
  handlersFor: (sse: SseReply) => StreamHandlers,
): Promise<FastifyReply> {
  const sse = new SseReply(reply);
  const handlers = handlersFor(sse);
  const open = () => {
    if (!sse.started) handlers.open();
  };
  try {
    const started = await context.runner.start({
      ...job,
      stream: true,
      onChunk: (piece) => {
        open();
        handlers.chunk(piece);
      },
    });
    const run = await started.done;
    open();
    await handlers.finish(run);
  } catch (error) {
    if (!sse.started) throw error;
    request.log.info({ err: error }, 'stream failed after its first event');
    await handlers.fail(error);
  }
  return reply;
}
