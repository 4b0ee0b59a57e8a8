// HTTP to an operator's OpenAI-compatible server, with every failure turned into a PodError:
// network errors, timeouts, 5xx, 408 and 429 are retryable; the caller's own abort is PodAbortedError;
// 400/413/422 blame the request (PodBadRequestError); other 4xx are final upstream errors.
import { abortError, PodBadRequestError, PodError, PodUpstreamError } from './errors.ts';
import { errorMessageOf } from './openai-wire.ts';
import { readServerSentEvents } from './sse.ts';

export interface UpstreamClientOptions {
  /** e.g. `http://127.0.0.1:8000/v1`; endpoint paths are appended to its path, its query is kept. */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** Whole-request limit, streaming included. */
  readonly timeoutMs: number;
}

const BAD_REQUEST_STATUSES = new Set([400, 413, 422]);
const RETRYABLE_STATUSES = new Set([408, 429]);
const MAX_ERROR_TEXT = 300;

/** The URL without credentials or query, fit for messages and logs. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  return parsed.toString().replace(/\/$/, '');
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and puts the system error (ECONNREFUSED, ...) in `cause`.
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  return code === undefined ? error.message : `${error.message} (${code})`;
}

export class UpstreamClient {
  private readonly base: URL;
  readonly safeUrl: string;

  constructor(private readonly options: UpstreamClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new RangeError('baseUrl must be http(s)');
    // fetch refuses such URLs, and they would end up in logs: the key belongs in `apiKey`.
    if (url.username !== '' || url.password !== '') throw new RangeError('baseUrl must not hold credentials');
    this.base = url;
    this.safeUrl = redactUrl(options.baseUrl);
  }

  private url(path: string): URL {
    const url = new URL(this.base);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path}`;
    return url;
  }

  async getJson(path: string, signal?: AbortSignal): Promise<unknown> {
    return this.json(path, { method: 'GET' }, signal);
  }

  async postJson(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.json(path, { method: 'POST', body: JSON.stringify(body) }, signal);
  }

  /** POSTs with `stream: true` in the body and yields each event's JSON until `[DONE]`. */
  async *postStream(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<unknown> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const response = await this.send(path, { method: 'POST', body: JSON.stringify(body) }, signal, timeout);
    if (response.body === null) throw new PodUpstreamError(`${this.safeUrl}/${path} sent no body`);
    try {
      for await (const event of readServerSentEvents(response.body)) {
        if (event.data === '[DONE]') return;
        let chunk: unknown;
        try {
          chunk = JSON.parse(event.data);
        } catch (error) {
          throw new PodUpstreamError(`${this.safeUrl}/${path} streamed an event that is not JSON`, {
            cause: error,
          });
        }
        const message = errorMessageOf(chunk);
        if (message !== undefined) throw new PodUpstreamError(`Upstream failed mid-stream: ${message}`);
        yield chunk;
      }
    } catch (error) {
      throw this.failure(error, path, signal, timeout);
    }
  }

  private async json(path: string, init: RequestInit, signal: AbortSignal | undefined): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const response = await this.send(path, init, signal, timeout);
    try {
      return await response.json();
    } catch (error) {
      if (signal?.aborted || timeout.aborted) throw this.failure(error, path, signal, timeout);
      throw new PodUpstreamError(`${this.safeUrl}/${path} answered with a body that is not JSON`, {
        cause: error,
      });
    }
  }

  private async send(
    path: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
    timeout: AbortSignal,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.apiKey !== undefined) headers.authorization = `Bearer ${this.options.apiKey}`;
    let response: Response;
    try {
      response = await fetch(this.url(path), {
        ...init,
        headers,
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      throw this.failure(error, path, signal, timeout);
    }
    if (!response.ok) throw await this.statusError(response, path);
    return response;
  }

  private failure(
    error: unknown,
    path: string,
    signal: AbortSignal | undefined,
    timeout: AbortSignal,
  ): PodError {
    if (error instanceof PodError) return error;
    if (signal?.aborted) return abortError(signal);
    if (timeout.aborted) {
      return new PodUpstreamError(`${this.safeUrl}/${path} timed out after ${this.options.timeoutMs} ms`, {
        cause: error,
      });
    }
    // The query may carry a key (some gateways take `?api-key=`): keep the full URL out of the message.
    const reason = describe(error).replaceAll(this.url(path).toString(), `${this.safeUrl}/${path}`);
    return new PodUpstreamError(`${this.safeUrl}/${path} failed: ${reason}`, { cause: error });
  }

  private async statusError(response: Response, path: string): Promise<PodError> {
    const text = await response.text().catch(() => '');
    let message: string | undefined;
    try {
      message = errorMessageOf(JSON.parse(text));
    } catch {
      // not JSON: quote the text itself
    }
    message = (message ?? text).slice(0, MAX_ERROR_TEXT) || response.statusText;
    const status = response.status;
    const where = `${this.safeUrl}/${path}`;
    if (BAD_REQUEST_STATUSES.has(status)) {
      return new PodBadRequestError(`Upstream rejected the request (${status}): ${message}`, {
        details: { upstreamStatus: status },
      });
    }
    return new PodUpstreamError(`${where} answered ${status}: ${message}`, {
      upstreamStatus: status,
      retryable: status >= 500 || RETRYABLE_STATUSES.has(status),
    });
  }
}
