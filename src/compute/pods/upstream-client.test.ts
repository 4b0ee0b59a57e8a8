import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PodAbortedError,
  PodBadRequestError,
  PodError,
  PodUpstreamBusyError,
  PodUpstreamError,
} from './errors.ts';
import { OpenAIUpstreamRuntime } from './openai-upstream.ts';
import { UpstreamClient } from './upstream-client.ts';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** Which connection carried it: 1 for the first the server accepted, and so on. */
  readonly socket: number;
  /** Resolves when the connection that carried this request closes. */
  readonly socketClosed: Promise<void>;
}

interface TestUpstream {
  /** `http://127.0.0.1:PORT/v1` */
  readonly baseUrl: string;
  readonly requests: Seen[];
  /** Connections accepted so far. */
  sockets(): number;
  /** Resolves with the request once it has fully arrived. */
  nextRequest(): Promise<Seen>;
}

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of servers.splice(0)) await close();
});

/** A real HTTP server with a fixed handler, counting connections and noting when each one closes. */
async function upstream(handler: (request: Seen, response: ServerResponse) => void): Promise<TestUpstream> {
  const requests: Seen[] = [];
  const accepted = new WeakMap<Socket, { id: number; closed: Promise<void> }>();
  const waiting: Array<(seen: Seen) => void> = [];
  let sockets = 0;
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const socket = accepted.get(request.socket);
    if (socket === undefined) throw new Error('a request on a connection the server did not see');
    const seen: Seen = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body,
      socket: socket.id,
      socketClosed: socket.closed,
    };
    requests.push(seen);
    waiting.shift()?.(seen);
    handler(seen, response);
  });
  server.on('connection', (socket: Socket) => {
    sockets += 1;
    accepted.set(socket, {
      id: sockets,
      closed: new Promise((resolve) => socket.once('close', () => resolve())),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    sockets: () => sockets,
    nextRequest: () => new Promise((resolve) => waiting.push(resolve)),
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function event(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

function startStream(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
}

/** An upstream answering `/models` with JSON and `/stream` with three events, `[DONE]` and the end. */
async function wellBehaved(): Promise<TestUpstream> {
  return upstream((request, response) => {
    if (request.url.startsWith('/v1/models')) json(response, 200, { data: [{ id: 'm' }] });
    else if (request.url === '/v1/stream') {
      startStream(response);
      for (const n of [1, 2, 3]) response.write(event({ n }));
      response.end(event('[DONE]'));
    } else if (request.url === '/v1/fail') json(response, 500, { error: { message: 'overloaded' } });
    else if (request.url === '/v1/html') response.end('<html>proxy login</html>');
    else json(response, 404, { error: 'no route' });
  });
}

async function collect(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

async function failure(promise: Promise<unknown>): Promise<PodError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PodError);
  return error as PodError;
}

/** Lets one event-loop turn pass. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const client = (baseUrl: string, timeoutMs = 60_000) => new UpstreamClient({ baseUrl, timeoutMs });

describe('UpstreamClient: connections', () => {
  // undici lets a keep-alive socket sit one event-loop turn before reusing it (in case the server
  // closes it anyway), so "sequential" here means the next request starts on a later turn, as jobs do.
  it('carries many sequential requests over one connection: JSON, streams, errors and odd bodies', async () => {
    const server = await wellBehaved();
    const upstreamClient = client(server.baseUrl);
    for (let round = 0; round < 5; round += 1) {
      expect(await upstreamClient.getJson('models')).toEqual({ data: [{ id: 'm' }] });
      await nextTurn();
      expect(await collect(upstreamClient.postStream('stream', {}))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      await nextTurn();
      expect((await failure(upstreamClient.postJson('fail', {}))).message).toContain('overloaded');
      await nextTurn();
      expect((await failure(upstreamClient.getJson('html'))).message).toContain('not JSON');
      await nextTurn();
    }
    expect(server.requests).toHaveLength(20);
    expect(server.sockets()).toBe(1);
    await upstreamClient.close();
  });

  it('does not open a connection per request even back to back', async () => {
    const server = await wellBehaved();
    const upstreamClient = client(server.baseUrl);
    for (let round = 0; round < 20; round += 1) {
      await upstreamClient.getJson('models');
      await collect(upstreamClient.postStream('stream', {}));
    }
    expect(server.sockets()).toBeLessThanOrEqual(2);
    await upstreamClient.close();
  });

  it('drains what follows [DONE] rather than cutting the connection, which then serves later requests', async () => {
    let finishStream = () => {};
    const streamFinished = new Promise<void>((resolve) => {
      finishStream = resolve;
    });
    const server = await upstream((request, response) => {
      if (request.url === '/v1/models') return json(response, 200, {});
      startStream(response);
      response.write(event({ n: 1 }) + event('[DONE]'));
      // The end comes only after the client has seen [DONE]: it must read it, not destroy the body.
      void streamFinished.then(() => response.end(': trailing comment\n\n'));
    });
    const upstreamClient = client(server.baseUrl);
    expect(await collect(upstreamClient.postStream('stream', {}))).toEqual([{ n: 1 }]);
    finishStream();
    for (let round = 0; round < 4; round += 1) {
      await nextTurn();
      await upstreamClient.getJson('models');
    }
    const [stream, ...later] = server.requests;
    expect(later.some((request) => request.socket === stream?.socket)).toBe(true);
    expect(server.sockets()).toBeLessThanOrEqual(2);
    await upstreamClient.close();
  });

  it('ends a stream at [DONE] even when the upstream never ends the response; the deadline frees it', async () => {
    const server = await upstream((_, response) => {
      startStream(response);
      response.write(event({ n: 1 }) + event('[DONE]'));
    });
    const upstreamClient = client(server.baseUrl, 300);
    expect(await collect(upstreamClient.postStream('stream', {}))).toEqual([{ n: 1 }]);
    await server.requests[0]?.socketClosed;
    await upstreamClient.close();
  });

  it('closes the connection of a stream abandoned mid-way, and the next request succeeds', async () => {
    const server = await upstream((request, response) => {
      if (request.url === '/v1/models') return json(response, 200, { data: [] });
      startStream(response);
      response.write(event({ n: 1 })); // and never more
    });
    const upstreamClient = client(server.baseUrl);
    for await (const chunk of upstreamClient.postStream('stream', {})) {
      expect(chunk).toEqual({ n: 1 });
      break;
    }
    await server.requests[0]?.socketClosed;
    // The same through the generator's own return(), as a consumer that stops calling next() does.
    const stream = upstreamClient.postStream('stream', {});
    expect((await stream.next()).value).toEqual({ n: 1 });
    await stream.return(undefined);
    await server.requests[1]?.socketClosed;
    expect(await upstreamClient.getJson('models')).toEqual({ data: [] });
    expect(server.sockets()).toBe(3);
    await upstreamClient.close();
  });

  it('close() drops its connections, fails a request in flight retryably, and a later request reconnects', async () => {
    const server = await upstream((request, response) => {
      if (request.url === '/v1/models') json(response, 200, { data: [] }); // `/hang` never answers
    });
    const upstreamClient = client(server.baseUrl);
    await upstreamClient.getJson('models');
    await upstreamClient.close();
    await server.requests[0]?.socketClosed;
    const arrived = server.nextRequest();
    const hanging = failure(upstreamClient.getJson('hang'));
    await arrived;
    await upstreamClient.close();
    const error = await hanging;
    expect(error).toBeInstanceOf(PodUpstreamError);
    expect(error.retryable).toBe(true);
    expect(await upstreamClient.getJson('models')).toEqual({ data: [] });
    expect(server.sockets()).toBe(3);
    await upstreamClient.close();
    await upstreamClient.close(); // idempotent
  });

  it('is closed by the runtime on unload, loaded or not, and the runtime loads again afterwards', async () => {
    const server = await wellBehaved();
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: server.baseUrl, model: 'm' });
    await runtime.load();
    await runtime.unload();
    await server.requests[0]?.socketClosed;
    await runtime.load();
    expect(runtime.info().warm).toBe(true);
    await runtime.unload();
    await server.requests[1]?.socketClosed;
    const wrong = new OpenAIUpstreamRuntime({ baseUrl: server.baseUrl, model: 'absent' });
    await expect(wrong.load()).rejects.toThrow(/does not serve/);
    await wrong.unload();
    await server.requests[2]?.socketClosed;
    expect(server.sockets()).toBe(3);
  });
});

describe('UpstreamClient: abort and timeout', () => {
  /** Sends one event, then nothing more, never ending the response. */
  async function dripping() {
    return upstream((_, response) => {
      startStream(response);
      response.write(event({ n: 1 }));
    });
  }

  it('aborted mid-stream: PodAbortedError, the upstream sees the connection close, the next request works', async () => {
    const server = await dripping();
    const upstreamClient = client(server.baseUrl);
    const controller = new AbortController();
    const stream = upstreamClient.postStream('stream', {}, controller.signal);
    expect((await stream.next()).value).toEqual({ n: 1 });
    const pending = failure(stream.next());
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(PodAbortedError);
    expect(error.retryable).toBe(false);
    await server.requests[0]?.socketClosed;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const next = upstreamClient.postStream('stream', {});
    expect((await next.next()).value).toEqual({ n: 1 });
    await next.return(undefined);
    await upstreamClient.close();
  });

  it('throws the PodError an abort carries as its reason, and sends nothing when aborted already', async () => {
    const server = await dripping();
    const upstreamClient = client(server.baseUrl);
    const controller = new AbortController();
    const stream = upstreamClient.postStream('stream', {}, controller.signal);
    await stream.next();
    const pending = failure(stream.next());
    const reason = new PodBadRequestError('the runtime says why');
    controller.abort(reason);
    expect(await pending).toBe(reason);
    const aborted = AbortSignal.abort();
    expect(await failure(upstreamClient.getJson('models', aborted))).toBeInstanceOf(PodAbortedError);
    expect(await failure(upstreamClient.postStream('stream', {}, aborted).next())).toBeInstanceOf(
      PodAbortedError,
    );
    expect(server.requests).toHaveLength(1);
    await upstreamClient.close();
  });

  it('times out mid-stream with a retryable error naming the limit, and closes the connection', async () => {
    const server = await dripping();
    const upstreamClient = client(server.baseUrl, 300);
    const stream = upstreamClient.postStream('stream', {});
    expect((await stream.next()).value).toEqual({ n: 1 });
    const error = await failure(stream.next());
    expect(error).toBeInstanceOf(PodUpstreamError);
    expect(error).toMatchObject({ retryable: true, upstreamStatus: undefined });
    expect(error.message).toMatch(/\/v1\/stream timed out after 300 ms$/);
    await server.requests[0]?.socketClosed;
    await upstreamClient.close();
  });

  it('limits the whole stream, not the gaps between its events', async () => {
    // Events keep coming (an idle timeout would never fire), yet the deadline ends the stream.
    const server = await upstream((_, response) => {
      startStream(response);
      response.write(event({ n: 1 }));
      const timer = setInterval(() => response.write(event({ n: 1 })), 20);
      response.on('close', () => clearInterval(timer));
    });
    const upstreamClient = client(server.baseUrl, 300);
    let received = 0;
    const error = await failure(
      (async () => {
        for await (const _ of upstreamClient.postStream('stream', {})) received += 1;
      })(),
    );
    expect(received).toBeGreaterThan(0);
    expect(error.message).toContain('timed out after 300 ms');
    await server.requests[0]?.socketClosed;
    await upstreamClient.close();
  });

  it('times out a JSON body that stops half-way, and leaves no listener on the caller signal', async () => {
    const server = await upstream((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"data": ['); // and nothing more
    });
    const upstreamClient = client(server.baseUrl, 300);
    const signal = new AbortController().signal;
    const error = await failure(upstreamClient.getJson('models', signal));
    expect(error.message).toContain('timed out after 300 ms');
    expect(error.retryable).toBe(true);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await server.requests[0]?.socketClosed;
    await upstreamClient.close();
  });
});

describe('UpstreamClient: answers and requests', () => {
  it('maps statuses: 400/413/422 blame the request, 429 is busy, 5xx/408 are retryable, other 4xx final', async () => {
    const server = await upstream((request, response) => {
      json(response, Number(request.url.slice('/v1/'.length)), { error: { message: `no ${request.url}` } });
    });
    const upstreamClient = client(server.baseUrl);
    for (const status of [400, 413, 422]) {
      const error = await failure(upstreamClient.postJson(String(status), {}));
      expect(error).toBeInstanceOf(PodBadRequestError);
      expect(error).toMatchObject({ retryable: false, details: { upstreamStatus: status } });
      expect(error.message).toBe(`Upstream rejected the request (${status}): no /v1/${status}`);
    }
    for (const [status, retryable] of [
      [500, true],
      [502, true],
      [408, true],
      [401, false],
      [404, false],
      [409, false],
    ] as const) {
      const error = await failure(collect(upstreamClient.postStream(String(status), {})));
      expect(error).toBeInstanceOf(PodUpstreamError);
      expect(error).toMatchObject({ retryable, upstreamStatus: status });
    }
    // At capacity: the node is busy, not broken (the router moves the job on without blaming it).
    const busy = await failure(upstreamClient.postJson('429', {}));
    expect(busy).toBeInstanceOf(PodUpstreamBusyError);
    expect(busy).toMatchObject({ code: 'rate_limited', retryable: true, details: { upstreamStatus: 429 } });
    expect(busy.message).toBe(`${server.baseUrl}/429 is at capacity (429): no /v1/429`);
    await upstreamClient.close();
  });

  it('quotes the error text: the JSON message, else the text cut to 300 characters, else the status', async () => {
    const server = await upstream((request, response) => {
      response.writeHead(request.url === '/v1/empty' ? 502 : 500);
      response.end(request.url === '/v1/text' ? `CUDA error ${'x'.repeat(1000)}` : '');
    });
    const upstreamClient = client(server.baseUrl);
    const text = await failure(upstreamClient.getJson('text'));
    expect(text.message).toBe(`${server.baseUrl}/text answered 500: CUDA error ${'x'.repeat(289)}`);
    const empty = await failure(upstreamClient.getJson('empty'));
    expect(empty.message).toBe(`${server.baseUrl}/empty answered 502: Bad Gateway`);
    await upstreamClient.close();
  });

  it('reports a connection cut mid-answer with its code, retryably, without the query', async () => {
    const server = await upstream((request, response) => {
      if (request.url.startsWith('/v1/stream')) {
        startStream(response);
        response.write(event({ n: 1 }));
      } else {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        response.write('{"data":');
      }
      setImmediate(() => response.socket?.destroy());
    });
    const upstreamClient = client(`${server.baseUrl}?api-key=secret`);
    const cut = await failure(upstreamClient.getJson('models'));
    expect(cut).toBeInstanceOf(PodUpstreamError);
    expect(cut.retryable).toBe(true);
    expect(cut.message).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/models failed: .*\(UND_ERR_SOCKET\)$/);
    const stream = upstreamClient.postStream('stream', {});
    expect((await stream.next()).value).toEqual({ n: 1 });
    const streamCut = await failure(stream.next());
    expect(streamCut.message).toContain('UND_ERR_SOCKET');
    for (const error of [cut, streamCut])
      expect(JSON.stringify([error.message, error])).not.toMatch(/secret/);
    expect(server.requests.map((r) => r.url)).toEqual([
      '/v1/models?api-key=secret',
      '/v1/stream?api-key=secret',
    ]);
  });

  it('fails a stream on an event that is not JSON or reports an error, and frees the connection', async () => {
    const server = await upstream((request, response) => {
      startStream(response);
      response.write(
        request.url === '/v1/garbled' ? event('{not json') : event({ error: { message: 'died' } }),
      );
    });
    const upstreamClient = client(server.baseUrl);
    const garbled = await failure(collect(upstreamClient.postStream('garbled', {})));
    expect(garbled.message).toContain('/v1/garbled streamed an event that is not JSON');
    await server.requests[0]?.socketClosed;
    const died = await failure(collect(upstreamClient.postStream('died', {})));
    expect(died).toMatchObject({ message: 'Upstream failed mid-stream: died', retryable: true });
    await server.requests[1]?.socketClosed;
    await upstreamClient.close();
  });

  it('sends the key, the content type and the body; appends paths to the base path and keeps its query', async () => {
    const server = await wellBehaved();
    const keyed = new UpstreamClient({
      baseUrl: `${server.baseUrl}//?api-version=2`,
      apiKey: 'sk-1',
      timeoutMs: 60_000,
    });
    await keyed.getJson('models');
    await keyed.postJson('models', { a: 'é' });
    const [get, post] = server.requests;
    expect(get).toMatchObject({ method: 'GET', url: '/v1/models?api-version=2', body: '' });
    expect(get?.headers).toMatchObject({ authorization: 'Bearer sk-1' });
    expect(get?.headers['content-type']).toBeUndefined();
    expect(post).toMatchObject({ method: 'POST', url: '/v1/models?api-version=2', body: '{"a":"é"}' });
    expect(post?.headers).toMatchObject({
      authorization: 'Bearer sk-1',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    });
    await keyed.close();
  });

  it('follows redirects as fetch did, asking the moved URL again, and keeps the key on its origin', async () => {
    const elsewhere = await upstream((request, response) => json(response, 200, { echoed: request.body }));
    const server = await upstream((request, response) => {
      const location = {
        '/v1/old': '/v2/new',
        '/v1/away': `${elsewhere.baseUrl}/there`,
        '/v1/loop': '/v1/loop',
      }[request.url];
      if (location === undefined) return json(response, 200, { echoed: request.body });
      response.writeHead(307, { location });
      response.end();
    });
    const keyed = new UpstreamClient({ baseUrl: server.baseUrl, apiKey: 'sk-1', timeoutMs: 60_000 });
    expect(await keyed.postJson('old', { x: 1 })).toEqual({ echoed: '{"x":1}' });
    expect(server.requests.map((r) => r.url)).toEqual(['/v1/old', '/v1/old', '/v2/new']);
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer sk-1');
    expect(await keyed.postJson('away', { y: 2 })).toEqual({ echoed: '{"y":2}' });
    expect(elsewhere.requests[0]?.headers.authorization).toBeUndefined();
    const loop = await failure(keyed.getJson('loop'));
    expect(loop).toMatchObject({
      retryable: true,
      message: `${server.baseUrl}/loop failed: redirect count exceeded`,
    });
    await keyed.close();
  });

  it('refuses base URLs it cannot use safely', () => {
    expect(() => client('not a url')).toThrow();
    expect(() => client('ftp://host/v1')).toThrow(/http/);
    expect(() => client('http://user:pw@host/v1')).toThrow(/credentials/);
    expect(client('https://host:8443/v1/?key=k').safeUrl).toBe('https://host:8443/v1');
  });
});
