// A small OpenAI-compatible HTTP server in front of any PodRuntime, for tests: the upstream the
// `openai-upstream` runtime talks to is then a real server generating with a real model. Tool calling
// passes through: the runtime takes `tools`, `tool_choice` and tool messages in OpenAI's shape, and its
// calls are answered as OpenAI answers them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { podResponseFormat, type ResponseFormat } from '../../../protocol/openai-features.ts';
import { PodError } from '../errors.ts';
import type { PodRuntime } from '../runtime.ts';
import type { GenerationResult, ToolCall } from '../types.ts';

export interface OpenAICompatibleServerOptions {
  /** Leave usage out of every answer, as some older servers do. */
  omitUsage?: boolean;
  /** Require `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Listen on this port (a server restarted where it was); default: any free one. */
  port?: number;
}

export interface OpenAICompatibleServer {
  /** `http://127.0.0.1:PORT/v1` */
  readonly baseUrl: string;
  /** Answers the next request with this status and an OpenAI error body (and headers) instead of serving it. */
  failNext(status: number, message: string, headers?: Record<string, string>): void;
  /** Bodies of the requests received so far, in order. */
  readonly requests: Array<{ path: string; body: unknown; authorization: string | undefined }>;
  close(): Promise<void>;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, error: unknown): void {
  const status = error instanceof PodError ? (error.retryable ? 500 : error.status) : 500;
  const message = error instanceof Error ? error.message : String(error);
  if (response.headersSent) {
    // Mid-stream: OpenAI-compatible servers report the failure as an event.
    response.end(`data: ${JSON.stringify({ error: { message } })}\n\n`);
    return;
  }
  sendJson(response, status, { error: { message, type: 'server_error', code: null } });
}

/** OpenAI's response_format as pod runtimes take it (the schema itself), as a node turns it. */
function podBody(body: Record<string, unknown>): Record<string, unknown> {
  if (body.response_format === undefined) return body;
  return { ...body, response_format: podResponseFormat(body.response_format as ResponseFormat) ?? null };
}

function usageWire(result: GenerationResult) {
  return result.usage === null
    ? null
    : {
        prompt_tokens: result.usage.promptTokens,
        completion_tokens: result.usage.completionTokens,
        total_tokens: result.usage.promptTokens + result.usage.completionTokens,
        // As vLLM reports its prefix cache's hits.
        ...(result.usage.cachedPromptTokens === undefined
          ? {}
          : { prompt_tokens_details: { cached_tokens: result.usage.cachedPromptTokens } }),
      };
}

function toolCallWire(call: ToolCall) {
  return { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } };
}

/** A whole answer's message: `content` is null when the model only made calls, as OpenAI sends it. */
function messageWire(result: GenerationResult) {
  const calls = result.toolCalls ?? [];
  return {
    role: 'assistant',
    content: calls.length > 0 && result.text === '' ? null : result.text,
    ...(calls.length === 0 ? {} : { tool_calls: calls.map(toolCallWire) }),
  };
}

/**
 * The stream deltas of the calls, as OpenAI sends them: the first of each names it (index, id, type,
 * name) with the start of its arguments, the next carries only the index and the rest. Always two
 * pieces, so a client's assembly of them is exercised.
 */
function toolCallDeltas(calls: readonly ToolCall[]): object[] {
  return calls.flatMap((call, index) => {
    const cut = Math.ceil(call.arguments.length / 2);
    const head = { name: call.name, arguments: call.arguments.slice(0, cut) };
    return [
      { tool_calls: [{ index, id: call.id, type: 'function', function: head }] },
      { tool_calls: [{ index, function: { arguments: call.arguments.slice(cut) } }] },
    ];
  });
}

export async function startOpenAICompatibleServer(
  runtime: PodRuntime,
  options: OpenAICompatibleServerOptions = {},
): Promise<OpenAICompatibleServer> {
  const requests: OpenAICompatibleServer['requests'] = [];
  let nextFailure: { status: number; message: string; headers: Record<string, string> } | undefined;

  async function generate(
    path: string,
    body: Record<string, unknown>,
    response: ServerResponse,
    abort: AbortSignal,
  ) {
    const chat = path === '/v1/chat/completions';
    const object = chat ? 'chat.completion' : 'text_completion';
    const model = runtime.info().model;
    const stream = body.stream === true;
    const includeUsage =
      (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const chatChunk = (delta: object, finish: string | null) => ({
      object: `${object}.chunk`,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const chunk = (piece: string, finish: string | null) =>
      chat
        ? chatChunk({ content: piece }, finish)
        : { object, model, choices: [{ index: 0, text: piece, finish_reason: finish }] };
    const write = (value: unknown) => response.write(`data: ${JSON.stringify(value)}\n\n`);
    const onDelta = stream
      ? (piece: string) => {
          if (!response.headersSent) response.writeHead(200, { 'content-type': 'text/event-stream' });
          write(chunk(piece, null));
        }
      : undefined;
    const run = chat ? runtime.chat.bind(runtime) : runtime.complete.bind(runtime);
    const result = await run(podBody(body) as never, {
      signal: abort,
      ...(onDelta === undefined ? {} : { onDelta }),
    });
    const usage = options.omitUsage ? undefined : usageWire(result);
    if (!stream) {
      const choice = chat
        ? { index: 0, message: messageWire(result), finish_reason: result.finishReason }
        : { index: 0, text: result.text, finish_reason: result.finishReason };
      sendJson(response, 200, {
        object,
        model,
        choices: [choice],
        ...(usage === undefined ? {} : { usage }),
      });
      return;
    }
    if (!response.headersSent) response.writeHead(200, { 'content-type': 'text/event-stream' });
    // The calls come after the text, as the model wrote them.
    for (const delta of toolCallDeltas(result.toolCalls ?? [])) write(chatChunk(delta, null));
    write(chunk('', result.finishReason));
    if (includeUsage && usage !== undefined) write({ object: `${object}.chunk`, model, choices: [], usage });
    response.end('data: [DONE]\n\n');
  }

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const path = request.url ?? '/';
    const authorization = request.headers.authorization;
    const body = request.method === 'POST' ? await readJson(request) : undefined;
    requests.push({ path, body, authorization });
    if (options.apiKey !== undefined && authorization !== `Bearer ${options.apiKey}`) {
      sendJson(response, 401, { error: { message: 'Invalid API key', type: 'authentication_error' } });
      return;
    }
    if (nextFailure !== undefined) {
      const { status, message, headers } = nextFailure;
      nextFailure = undefined;
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
      sendJson(response, status, { error: { message, type: 'server_error' } });
      return;
    }
    // The client going away aborts the job, as a real server would.
    const abort = new AbortController();
    response.on('close', () => abort.abort());
    if (request.method === 'GET' && path === '/v1/models') {
      const info = runtime.info();
      sendJson(response, 200, {
        object: 'list',
        data: [{ id: info.model, object: 'model', max_model_len: info.contextSize }],
      });
    } else if (request.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions')) {
      await generate(path, body as Record<string, unknown>, response, abort.signal);
    } else if (request.method === 'POST' && path === '/v1/embeddings') {
      const result = await runtime.embed(body as never, { signal: abort.signal });
      const data = result.vectors.map((embedding, index) => ({ object: 'embedding', index, embedding }));
      const usage =
        options.omitUsage || result.usage === null
          ? {}
          : { usage: { prompt_tokens: result.usage.promptTokens } };
      sendJson(response, 200, { object: 'list', model: result.model, data, ...usage });
    } else {
      sendJson(response, 404, {
        error: { message: `No route ${request.method} ${path}`, type: 'not_found_error' },
      });
    }
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => sendError(response, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    failNext(status, message, headers = {}) {
      nextFailure = { status, message, headers };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
