// HTTP to an operator's OpenAI-compatible server, with every failure turned into a PodError:
// network errors, timeouts, 5xx and 408 are retryable; 429 and 503 say the upstream is busy
// (PodUpstreamBusyError, carrying the wait it asks for, if any);
// the caller's own abort is PodAbortedError; 400/413/422 blame the request (PodBadRequestError); other 4xx
// are final upstream errors.
// It speaks through undici's `request()` on a keep-alive Agent it owns: global `fetch` costs several
// times the CPU per request (WHATWG streams, signals, Response objects) for nothing a relay needs.
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { redactUrl } from '../../protocol/redact-url.ts';
import {
  abortError,
  PodBadRequestError,
  PodError,
  PodUpstreamBusyError,
  PodUpstreamError,
  throwIfAborted,
} from './errors.ts';
import { errorMessageOf } from './openai-wire.ts';
import { retryAfterSeconds } from './retry-after.ts';
import { readServerSentEvents } from './sse.ts';

export interface UpstreamClientOptions {
  /** e.g. `http://127.0.0.1:8000/v1`; endpoint paths are appended to its path, its query is kept. */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** Whole-request limit, streaming included. */
  readonly timeoutMs: number;
}

const BAD_REQUEST_STATUSES = new Set([400, 413, 422]);
const REQUEST_TIMEOUT = 408;
/** The upstream is full: the node is busy (the router moves the job on and pauses the node briefly). */
const TOO_MANY_REQUESTS = 429;
/**
 * Overloaded or loading for a while (RFC 9110 §15.6.4): Ollama past its queue ("server busy"), llama.cpp's
 * server loading its model. A server that is down for good is left alone ever longer by the router too.
 */
const SERVICE_UNAVAILABLE = 503;
const MAX_ERROR_TEXT = 300;
/** The redirects `fetch` follows, and as many of them. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTIONS = 20;

type ResponseBody = Dispatcher.ResponseData['body'];

const ignore = () => {};

function isRedirect(response: Dispatcher.ResponseData): boolean {
  return REDIRECT_STATUSES.has(response.statusCode) && response.headers.location !== undefined;
}

function hasErrorField(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'error' in value;
}

/** Codes of a connection that could not be made: no server there, rather than one failing a request. */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

// System errors carry their code (ECONNREFUSED, ...), undici's its own (UND_ERR_SOCKET); a wrapped error
// keeps it in `cause`.
function codeOf(error: Error): string | undefined {
  const own = (error as { code?: unknown }).code;
  const cause = error.cause as { code?: unknown } | undefined;
  return typeof own === 'string' ? own : typeof cause?.code === 'string' ? cause.code : undefined;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = codeOf(error);
  // An AggregateError from trying several addresses may have no message.
  const message = error.message || error.name;
  return code === undefined || message.includes(code) ? message : `${message} (${code})`;
}

/**
 * One request's abort signal for undici: fires when the caller aborts or the whole-request deadline
 * passes. undici takes an EventEmitter as a signal, and one costs far less per request than an
 * AbortController's EventTarget.
 */
class RequestScope extends EventEmitter {
  private readonly timer: NodeJS.Timeout;
  /** Read by undici, as on an AbortSignal. */
  aborted = false;
  timedOut = false;

  constructor(
    /** The caller's signal: its abort is reported as the caller's, not as an upstream failure. */
    readonly caller: AbortSignal | undefined,
    timeoutMs: number,
  ) {
    super();
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.abort();
    }, timeoutMs);
    // Like AbortSignal.timeout: a pending deadline alone does not keep the process alive.
    this.timer.unref();
    caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  private readonly onCallerAbort = () => this.abort();

  private abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }

  finish(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

export class UpstreamClient {
  private readonly origin: string;
  /** The base path without its trailing slashes; endpoint paths go after it. */
  private readonly basePath: string;
  private readonly query: string;
  private readonly getHeaders: Record<string, string>;
  private readonly postHeaders: Record<string, string>;
  private agent: Agent | undefined;
  readonly safeUrl: string;

  constructor(private readonly options: UpstreamClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new RangeError('baseUrl must be http(s)');
    // They would end up in logs (and fetch refuses them): the key belongs in `apiKey`.
    if (url.username !== '' || url.password !== '') throw new RangeError('baseUrl must not hold credentials');
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.query = url.search;
    // Messages name `${safeUrl}/${path}`: the base without its query (sent with each request, not shown).
    this.safeUrl = redactUrl(`${this.origin}${this.basePath}`).replace(/\/$/, '');
    this.getHeaders = { accept: 'application/json, text/event-stream' };
    if (options.apiKey !== undefined) this.getHeaders.authorization = `Bearer ${options.apiKey}`;
    this.postHeaders = { ...this.getHeaders, 'content-type': 'application/json' };
  }

  async getJson(path: string, signal?: AbortSignal): Promise<unknown> {
    return this.json(path, 'GET', undefined, signal);
  }

  async postJson(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.json(path, 'POST', JSON.stringify(body), signal);
  }

  /** POSTs with `stream: true` in the body and yields each event's JSON until `[DONE]`. */
  async *postStream(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<unknown> {
    throwIfAborted(signal);
    const scope = new RequestScope(signal, this.options.timeoutMs);
    let response: Dispatcher.ResponseData | undefined;
    let complete = false;
    try {
      response = await this.send(path, 'POST', JSON.stringify(body), scope);
      // Stopping at `[DONE]` must not destroy the body: what follows is drained to reuse the socket.
      for await (const event of readServerSentEvents(response.body.iterator({ destroyOnReturn: false }))) {
        if (event.data === '[DONE]') {
          complete = true;
          return;
        }
        let chunk: unknown;
        try {
          chunk = JSON.parse(event.data);
        } catch (error) {
          throw new PodUpstreamError(`${this.safeUrl}/${path} streamed an event that is not JSON`, {
            cause: error,
          });
        }
        // Checked first: zod's failure path builds issue objects, and most chunks carry no error.
        const message = hasErrorField(chunk) ? errorMessageOf(chunk) : undefined;
        if (message !== undefined) throw new PodUpstreamError(`Upstream failed mid-stream: ${message}`);
        yield chunk;
      }
    } catch (error) {
      throw this.failure(error, path, scope);
    } finally {
      if (response === undefined) scope.finish();
      else release(response.body, complete, scope);
    }
  }

  /**
   * Drops its connections at once, failing requests still in flight; the runtime calls it on unload.
   * A later request opens new connections, so a runtime loaded again keeps working.
   */
  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.destroy();
  }

  private async json(
    path: string,
    method: 'GET' | 'POST',
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    throwIfAborted(signal);
    const scope = new RequestScope(signal, this.options.timeoutMs);
    try {
      const response = await this.send(path, method, body, scope);
      let text: string;
      try {
        text = await response.body.text();
      } catch (error) {
        throw this.failure(error, path, scope);
      }
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new PodUpstreamError(`${this.safeUrl}/${path} answered with a body that is not JSON`, {
          cause: error,
        });
      }
    } finally {
      scope.finish();
    }
  }

  /** The response when its status is 2xx; otherwise its body is read into the error thrown. */
  private async send(
    path: string,
    method: 'GET' | 'POST',
    body: string | undefined,
    scope: RequestScope,
  ): Promise<Dispatcher.ResponseData> {
    this.agent ??= new Agent({
      // The whole-request deadline is ours; undici's per-phase limits (5 min) would cut long generations.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const request: Dispatcher.RequestOptions = {
      origin: this.origin,
      path: `${this.basePath}/${path}${this.query}`,
      method,
      headers: body === undefined ? this.getHeaders : this.postHeaders,
      body: body ?? null,
      signal: scope,
    };
    let response: Dispatcher.ResponseData;
    try {
      response = await this.agent.request(request);
      if (isRedirect(response)) {
        // An upstream that moved: asked again with undici following redirects, as fetch did. Only
        // then, as following costs some 15 % of a request's CPU (a handler and URL parse per request).
        await response.body.dump();
        response = await this.agent.request({ ...request, maxRedirections: MAX_REDIRECTIONS });
        if (isRedirect(response)) {
          await response.body.dump();
          throw new PodUpstreamError(`${this.safeUrl}/${path} failed: redirect count exceeded`);
        }
      }
    } catch (error) {
      throw this.failure(error, path, scope);
    }
    if (response.statusCode < 200 || response.statusCode > 299) throw await this.statusError(response, path);
    return response;
  }

  private failure(error: unknown, path: string, scope: RequestScope): PodError {
    if (error instanceof PodError) return error;
    if (scope.caller?.aborted) return abortError(scope.caller);
    if (scope.timedOut) {
      return new PodUpstreamError(`${this.safeUrl}/${path} timed out after ${this.options.timeoutMs} ms`, {
        cause: error,
      });
    }
    // The query may carry a key (some gateways take `?api-key=`): keep the full URL out of the message.
    const where = `${this.safeUrl}/${path}`;
    let reason = describe(error).replaceAll(`${this.origin}${this.basePath}/${path}${this.query}`, where);
    if (this.query !== '') reason = reason.replaceAll(this.query, '');
    const code = error instanceof Error ? codeOf(error) : undefined;
    return new PodUpstreamError(`${where} failed: ${reason}`, {
      cause: error,
      unreachable: code !== undefined && UNREACHABLE_CODES.has(code),
    });
  }

  private async statusError(response: Dispatcher.ResponseData, path: string): Promise<PodError> {
    // Reading it to the end also frees the connection; a failed read has destroyed the body.
    const text = await response.body.text().catch(() => '');
    let message: string | undefined;
    try {
      message = errorMessageOf(JSON.parse(text));
    } catch {
      // not JSON: quote the text itself
    }
    const status = response.statusCode;
    message = (message ?? text).slice(0, MAX_ERROR_TEXT) || (STATUS_CODES[status] ?? '');
    const where = `${this.safeUrl}/${path}`;
    if (BAD_REQUEST_STATUSES.has(status)) {
      return new PodBadRequestError(`Upstream rejected the request (${status}): ${message}`, {
        details: { upstreamStatus: status },
      });
    }
    const wait = retryAfterSeconds(response.headers);
    if (status === TOO_MANY_REQUESTS || status === SERVICE_UNAVAILABLE) {
      return new PodUpstreamBusyError(`${where} is at capacity (${status}): ${message}`, {
        details: { upstreamStatus: status },
        ...(wait === undefined ? {} : { retryAfterSeconds: wait }),
      });
    }
    return new PodUpstreamError(`${where} answered ${status}: ${message}`, {
      upstreamStatus: status,
      retryable: status >= 500 || status === REQUEST_TIMEOUT,
    });
  }
}

/**
 * Frees a stream's connection: a body read to `[DONE]` (or to its end) is drained so the socket serves
 * the next request; one abandoned mid-way is destroyed, which closes the socket and stops the upstream
 * generating. The deadline keeps running while draining, so a server that never ends cannot pin it.
 */
function release(body: ResponseBody, complete: boolean, scope: RequestScope): void {
  // Destroying emits an error nobody awaits any more.
  body.on('error', ignore);
  if (complete || body.readableEnded) {
    body.dump().then(
      () => scope.finish(),
      () => scope.finish(),
    );
    return;
  }
  body.destroy();
  scope.finish();
}
