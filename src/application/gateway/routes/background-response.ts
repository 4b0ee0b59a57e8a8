// Background responses (`background: true`): answered at once as `queued` (or streamed, its events kept),
// kept in the store, their job run detached from the request; `in_progress` once on a node; the job's end
// is written into the kept response (completed, incomplete, failed with its error, or cancelled), which
// GET /v1/responses/:id reads. A response still unfinished well past its job's deadline lost the router
// running it (a crash): it is read, and written, as failed.
import type { FastifyBaseLogger } from 'fastify';
import type { Address } from 'viem';
import { FatalError } from '../../../protocol/errors.ts';
import type { TokenUsage } from '../../../protocol/openai-responses.ts';
import type { ContextItem } from '../../../protocol/openai-responses-api-items.ts';
import {
  outputItems,
  type ResponseAnswer,
  type ResponseEnvelope,
  type ResponseObject,
  responseError,
  responseObject,
  statusOf,
} from '../../../protocol/openai-responses-api-output.ts';
import type { GatewayContext } from '../context.ts';
import type { JobRequest, StartedJob } from '../job-request.ts';
import type { JobLog, KeptResponse, Principal, ResponseStore } from '../ports.ts';
import type { ResponseEventLog } from '../response-event-log.ts';
import { StreamedEvents } from './background-response-end.ts';
import { endedEarly } from './response-ended-early.ts';

/** How long past its deadline an unfinished response waits for its router before it is read as failed. */
export const LOST_ROUTER_GRACE_MS = 30_000;

/** Refuses what a background response cannot be: not kept. */
export function checkBackground(
  body: { background?: boolean | null | undefined; store?: boolean | null | undefined },
  stored: ResponseStore | undefined,
): void {
  if (body.background !== true) return;
  if (stored === undefined) {
    throw new FatalError('unsupported_parameter', {
      message: 'This gateway keeps no responses, so it runs none in the background',
      param: 'background',
    });
  }
  if (body.store === false) {
    throw new FatalError('invalid_request', {
      message: 'A background response is kept to be read back: store cannot be false',
      param: 'store',
    });
  }
}

/** This router's background responses: started, their ends written, read as they stand. */
export class BackgroundResponses {
  /** Those still running here, by id: the write of their end. */
  readonly #running = new Map<string, Promise<void>>();
  /** The streamed ones among them: their events so far. */
  readonly #logs = new Map<string, ResponseEventLog>();
  readonly #closing = new AbortController();

  constructor(
    private readonly context: GatewayContext,
    private readonly stored: ResponseStore,
    /** Where a response whose router was lost is looked for: its job may have ended there. */
    private readonly jobs?: JobLog,
  ) {}

  /**
   * Keeps the response as `queued`, starts its job, and answers the queued response, or, streamed, the log
   * of its events; the job's end is written when it comes. A job refused before it runs (402, 503) is an
   * ordinary error, nothing kept.
   */
  async start(p: {
    log: FastifyBaseLogger;
    envelope: ResponseEnvelope;
    principal: Principal;
    conversation: readonly ContextItem[];
    job: Omit<JobRequest, 'stream' | 'signal' | 'onChunk' | 'onStarted'>;
    answer: () => ResponseAnswer;
    stream: boolean;
    /** Told the response's end before it is written (a conversation's turn is added then). */
    ended?: (response: ResponseObject) => Promise<void>;
  }): Promise<{ queued: ResponseObject; events?: ResponseEventLog }> {
    const { stored } = this;
    const { envelope, principal } = p;
    const { id } = envelope;
    const queued = responseObject(envelope, 'queued', []);
    const stream = p.stream ? new StreamedEvents(envelope) : undefined;
    await stored.save({
      id,
      payer: principal.account,
      apiKeyId: principal.id,
      response: queued,
      context: p.conversation,
      deadlineAt: Date.now() + p.job.budget.timeoutMs,
      ...(stream === undefined ? {} : { events: [] }),
    });
    stream?.writer.start('queued');
    // Not streamed, the answer is made once: the job's log keeps it (should this router die between the
    // charge and writing the end, `current` finds it there) and it is written as the end.
    let answered: ResponseObject | undefined;
    const answerWith = (usage: TokenUsage) => {
      answered ??= responseObject(envelope, statusOf(p.answer()), outputItems(p.answer()), usage);
      return answered;
    };
    let started: StartedJob;
    try {
      started = await this.context.runner.start({
        ...p.job,
        stream: p.stream,
        cancellable: true,
        keep: (run) => ({ response: answerWith(run.usage) }),
        onStarted: () => {
          stream?.writer.inProgress();
          stored
            .started(id, principal.account, responseObject(envelope, 'in_progress', []))
            .catch((error: unknown) =>
              p.log.warn({ err: error, response: id }, 'marking a response begun failed'),
            );
        },
        ...(stream === undefined ? {} : { onChunk: (piece) => stream.writer.piece(piece) }),
      });
    } catch (error) {
      await stored.remove(id, principal.account).catch(() => {});
      throw error;
    }
    if (stream !== undefined) this.#logs.set(id, stream.log);
    const ended = async (response: ResponseObject) => {
      await p.ended?.(response);
      if (stream === undefined) return stored.finish(id, principal.account, response);
      // Kept with all its events before readers see its last, so one that reads it at once finds it.
      const final = stream.end(response);
      return stored.finish(id, principal.account, response, [...stream.log.events, final]).finally(() => {
        stream.log.append(final);
        stream.log.end();
      });
    };
    const written = started.done
      .then(
        (run) => (stream === undefined ? answerWith(run.usage) : stream.writer.finish(p.answer(), run.usage)),
        (error: unknown) => endedEarly(envelope, error, stream?.writer),
      )
      .then(ended)
      .then(
        () => undefined,
        (error: unknown) => p.log.error({ err: error, response: id }, 'writing a background response failed'),
      )
      .finally(() => {
        // Its readers are let go even when its end could not be made.
        stream?.log.end();
        this.#running.delete(id);
        this.#logs.delete(id);
      });
    this.#running.set(id, written);
    return stream === undefined ? { queued } : { queued, events: stream.log };
  }

  /** The live events of a streamed background response running on this router. */
  events(id: string): ResponseEventLog | undefined {
    return this.#logs.get(id);
  }

  /**
   * Stops a background response running on this router and answers it as ended; one that ended
   * cancelled is answered again. Refused when it was not run in the background, ended otherwise, or runs
   * on another router.
   */
  async cancel(id: string, payer: Address, kept: KeptResponse): Promise<ResponseObject> {
    if (kept.response.background !== true) {
      throw new FatalError('invalid_request', {
        message: 'Only a background response can be cancelled',
        param: 'id',
      });
    }
    if (await this.context.runner.cancel(id, payer)) {
      await this.#running.get(id);
      return (await this.stored.find(id, payer))?.response ?? kept.response;
    }
    const response = await this.current(id, payer, kept);
    if (response.status === 'cancelled') return response;
    throw new FatalError('response_not_cancellable', {
      message: unfinished(response)
        ? `Response ${id} runs on another router of this gateway; it stops at its deadline`
        : `Response ${id} already ${response.status}`,
      param: 'id',
    });
  }

  /**
   * Resolves once every background response this router runs has its end written (shutdown); readers
   * waiting for one running elsewhere are let go (`closing`).
   */
  async settled(): Promise<void> {
    this.#closing.abort();
    await Promise.all(this.#running.values());
  }

  /** Aborted once this router closes. */
  get closing(): AbortSignal {
    return this.#closing.signal;
  }

  /**
   * A kept response as it stands: one still unfinished well past its job's deadline lost its router, so
   * it is failed (and written so, unless its end came meanwhile).
   */
  async current(id: string, payer: Address, found: KeptResponse, now = Date.now()): Promise<ResponseObject> {
    const { response, deadlineAt } = found;
    if (!unfinished(response) || deadlineAt === undefined || now < deadlineAt + LOST_ROUTER_GRACE_MS)
      return response;
    if (this.#running.has(id)) return response;
    const ended = (await this.#endInJobLog(id, response)) ?? {
      ...response,
      status: 'failed',
      error: responseError({
        code: 'deadline_exceeded',
        message: 'The router running this response stopped before it ended',
      }),
    };
    if (await this.stored.finish(id, payer, ended)) return ended;
    return (await this.stored.find(id, payer))?.response ?? ended;
  }

  /**
   * The end a lost router's job came to, as its jobs log kept it (the charged answer, or the failure):
   * the router died after the job ended but before it wrote the response's end. Undefined when the log
   * has none (the job never ended).
   */
  async #endInJobLog(id: string, response: ResponseObject): Promise<ResponseObject | undefined> {
    const job = await this.jobs?.get(id);
    if (job === undefined) return undefined;
    const kept = (job.result as { response?: ResponseObject } | null | undefined)?.response;
    if (job.status === 'succeeded' && kept?.id === id) return kept;
    if (job.status === 'failed' || job.status === 'cancelled') {
      const error = job.error ?? { code: 'internal_error', message: 'The job failed' };
      return { ...response, status: job.status, error: responseError(error) };
    }
    return undefined;
  }
}

/** Still waiting for its job's end. */
export function unfinished(response: ResponseObject): boolean {
  return response.status === 'queued' || response.status === 'in_progress';
}
