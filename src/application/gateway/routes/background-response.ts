// Background responses (`background: true`): answered at once as `queued`, kept in the store, their job
// run detached from the request; the job's end is written into the kept response (completed, incomplete,
// failed with its error, or cancelled), which GET /v1/responses/:id reads. A response still unfinished
// well past its job's deadline lost the router running it (a crash): it is read, and written, as failed.
import type { FastifyBaseLogger } from 'fastify';
import type { Address } from 'viem';
import { FatalError, toOpenAIError } from '../../../protocol/errors.ts';
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
import type { JobRequest, StartedJob } from '../job-runner.ts';
import type { Principal, ResponseStore } from '../ports.ts';

/** How long past its deadline an unfinished response waits for its router before it is read as failed. */
export const LOST_ROUTER_GRACE_MS = 30_000;

/** Refuses what a background response cannot be: streamed, or not kept. */
export function checkBackground(
  body: {
    background?: boolean | null | undefined;
    stream?: boolean | null | undefined;
    store?: boolean | null | undefined;
  },
  stored: ResponseStore | undefined,
): void {
  if (body.background !== true) return;
  if (stored === undefined) {
    throw new FatalError('unsupported_parameter', {
      message: 'This gateway keeps no responses, so it runs none in the background',
      param: 'background',
    });
  }
  if (body.stream === true) {
    throw new FatalError('unsupported_parameter', {
      message: 'A background response is not streamed: read it with GET /v1/responses/:id',
      param: 'stream',
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

  constructor(
    private readonly context: GatewayContext,
    private readonly stored: ResponseStore,
  ) {}

  /**
   * Keeps the response as `queued`, starts its job, and answers the queued response; the job's end is
   * written when it comes. A job refused before it runs (402, 503) is an ordinary error, nothing kept.
   */
  async start(p: {
    log: FastifyBaseLogger;
    envelope: ResponseEnvelope;
    principal: Principal;
    conversation: readonly ContextItem[];
    job: Omit<JobRequest, 'stream' | 'signal'>;
    answer: () => ResponseAnswer;
  }): Promise<ResponseObject> {
    const { stored } = this;
    const { envelope, principal } = p;
    const queued = responseObject(envelope, 'queued', []);
    await stored.save({
      id: envelope.id,
      payer: principal.account,
      apiKeyId: principal.id,
      response: queued,
      context: p.conversation,
      deadlineAt: Date.now() + p.job.budget.timeoutMs,
    });
    let started: StartedJob;
    try {
      started = await this.context.runner.start({ ...p.job, stream: false, cancellable: true });
    } catch (error) {
      await stored.remove(envelope.id, principal.account).catch(() => {});
      throw error;
    }
    const written = started.done
      .then(
        (run) => {
          const answer = p.answer();
          return responseObject(envelope, statusOf(answer), outputItems(answer), run.outcome.result.usage);
        },
        (error: unknown) => {
          const { code, message } = toOpenAIError(error).error;
          const status = code === 'job_cancelled' ? 'cancelled' : 'failed';
          return responseObject(envelope, status, [], undefined, { code: code ?? 'internal_error', message });
        },
      )
      .then((response) => stored.finish(envelope.id, principal.account, response))
      .then(
        () => undefined,
        (error: unknown) =>
          p.log.error({ err: error, response: envelope.id }, 'writing a background response failed'),
      )
      .finally(() => this.#running.delete(envelope.id));
    this.#running.set(envelope.id, written);
    return queued;
  }

  /**
   * Stops a background response running on this router and answers it as ended; one that ended
   * cancelled is answered again. Refused when it was not run in the background, ended otherwise, or runs
   * on another router.
   */
  async cancel(
    id: string,
    payer: Address,
    kept: { response: ResponseObject; deadlineAt?: number | undefined },
  ): Promise<ResponseObject> {
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

  /** Resolves once every background response this router runs has its end written (shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.#running.values());
  }

  /**
   * A kept response as it stands: one still unfinished well past its job's deadline lost its router, so
   * it is failed (and written so, unless its end came meanwhile).
   */
  async current(
    id: string,
    payer: Address,
    found: { response: ResponseObject; deadlineAt?: number | undefined },
    now = Date.now(),
  ): Promise<ResponseObject> {
    const { response, deadlineAt } = found;
    if (!unfinished(response) || deadlineAt === undefined || now < deadlineAt + LOST_ROUTER_GRACE_MS)
      return response;
    if (this.#running.has(id)) return response;
    const failed: ResponseObject = {
      ...response,
      status: 'failed',
      error: responseError({
        code: 'deadline_exceeded',
        message: 'The router running this response stopped before it ended',
      }),
    };
    if (await this.stored.finish(id, payer, failed)) return failed;
    return (await this.stored.find(id, payer))?.response ?? failed;
  }
}

/** Still waiting for its job's end. */
function unfinished(response: ResponseObject): boolean {
  return response.status === 'queued' || response.status === 'in_progress';
}
