import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ToolCallDelta } from '../../protocol/messages/jobs.ts';
import { writeTinyModel } from '../model/tiny-model.ts';
import {
  isServerGone,
  PodAbortedError,
  PodBadRequestError,
  PodError,
  PodLoadFailedError,
  PodUpstreamError,
} from './errors.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';
import { OpenAIUpstreamRuntime } from './openai-upstream.ts';
import {
  type OpenAICompatibleServer,
  startOpenAICompatibleServer,
} from './testing/openai-compatible-server.ts';
import { weatherTool } from './testing/weather-tool.ts';
import type { ChatRequest, GenerationResult, TokenUsage, ToolCall } from './types.ts';

let dir: string;
let modelPath: string;
/** The model the upstream server generates with; also called directly to compare. */
let backing: LlamaCppRuntime;
let server: OpenAICompatibleServer;
let noUsageServer: OpenAICompatibleServer;
let upstream: OpenAIUpstreamRuntime;
const extraServers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openai-upstream-'));
  modelPath = (await writeTinyModel(join(dir, 'neurino-tiny.gguf'))).path;
  backing = new LlamaCppRuntime({ modelPath, slots: 2 });
  await backing.load();
  server = await startOpenAICompatibleServer(backing);
  noUsageServer = await startOpenAICompatibleServer(backing, { omitUsage: true });
  upstream = new OpenAIUpstreamRuntime({ baseUrl: server.baseUrl, model: 'neurino-tiny' });
  await upstream.load();
});

afterAll(async () => {
  await upstream?.unload();
  for (const s of [server, noUsageServer, ...extraServers]) await s?.close();
  await backing?.unload();
  await rm(dir, { recursive: true, force: true });
});

const hello: ChatRequest = { messages: [{ role: 'user', content: 'hello' }] };

async function expectPodError(promise: Promise<unknown>, podCode: string, retryable: boolean) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PodError);
  expect(error).toMatchObject({ podCode, retryable });
  return error as PodError;
}

/** A raw HTTP server with a fixed handler, for upstreams that misbehave. */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const raw: Server = createServer(handler);
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  extraServers.push({
    close: () =>
      new Promise<void>((resolve) => {
        raw.closeAllConnections();
        raw.close(() => resolve());
      }),
  });
  return `http://127.0.0.1:${(raw.address() as AddressInfo).port}/v1`;
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return chunks.length === 0
    ? {}
    : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
}

/** A loopback URL where nothing listens. */
async function deadUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

describe('openai-upstream runtime: relaying', () => {
  it('loads by finding its model on the upstream, and reads the context size it reports', () => {
    expect(upstream.info()).toEqual({
      runtime: 'openai-upstream',
      model: 'neurino-tiny',
      contextSize: 1024,
      warm: true,
      slots: 4,
      activeJobs: 0,
      // The server's model decides it, seen only in its answers.
      embeddingSize: null,
    });
  });

  it('relays a chat and returns exactly what the model produced, with its usage', async () => {
    const request = { ...hello, seed: 8, max_tokens: 30, temperature: 0.7 };
    const direct = await backing.chat(request);
    const relayed = await upstream.chat(request);
    expect(relayed).toEqual({
      model: 'neurino-tiny',
      text: direct.text,
      finishReason: direct.finishReason,
      usage: expect.objectContaining(counts(direct.usage)),
    });
    const sent = server.requests.at(-1);
    expect(sent?.path).toBe('/v1/chat/completions');
    expect(sent?.body).toMatchObject({ model: 'neurino-tiny', stream: false, seed: 8, max_tokens: 30 });
  });

  it('streams a chat: deltas arrive as produced, concatenate to the text, and usage comes at the end', async () => {
    const request = { ...hello, seed: 9, max_tokens: 40 };
    const direct = await backing.chat(request);
    const deltas: string[] = [];
    const relayed = await upstream.chat(request, { onDelta: (d) => deltas.push(d) });
    expect(deltas.join('')).toBe(relayed.text);
    expect(relayed.text).toBe(direct.text);
    expect(deltas.length).toBeGreaterThan(5);
    expect(relayed.usage).toMatchObject(counts(direct.usage));
    expect(relayed.finishReason).toBe('length');
    expect(server.requests.at(-1)?.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("relays the penalties, the logit bias and a JSON response format in OpenAI's shape", async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const request: ChatRequest = {
      ...hello,
      seed: 3,
      max_tokens: 60,
      presence_penalty: 0.5,
      frequency_penalty: 1,
      logit_bias: { '100': -1, '7': 2 },
      response_format: { type: 'json_schema', schema },
    };
    const direct = await backing.chat(request);
    const relayed = await upstream.chat(request);
    expect(relayed.text).toBe(direct.text);
    expect(typeof (JSON.parse(relayed.text) as { ok: unknown }).ok).toBe('boolean');
    expect(server.requests.at(-1)?.body).toMatchObject({
      presence_penalty: 0.5,
      frequency_penalty: 1,
      logit_bias: { '100': -1, '7': 2 },
      response_format: { type: 'json_schema', json_schema: { name: 'response', schema, strict: true } },
    });
    await upstream.chat({ ...hello, max_tokens: 4, response_format: { type: 'json_object' } });
    expect(server.requests.at(-1)?.body).toMatchObject({ response_format: { type: 'json_object' } });
  });

  it("relays the prompt tokens the server's prefix cache held, whole and streamed, as vLLM reports them", async () => {
    const request = { ...hello, seed: 10, max_tokens: 4 };
    await upstream.chat(request);
    const again = await upstream.chat(request);
    const prompt = again.usage?.promptTokens ?? 0;
    // The server's slot holds the whole prompt but its last token, evaluated again for the next one's odds.
    expect(again.usage?.cachedPromptTokens).toBe(prompt - 1);
    const streamed = await upstream.chat(request, { onDelta: () => {} });
    expect(streamed.usage?.cachedPromptTokens).toBe(prompt - 1);
  });

  it('relays completions, streamed or not, with stop sequences', async () => {
    const request = { prompt: 'the GPU', seed: 4, max_tokens: 25 };
    const direct = await backing.complete(request);
    const whole = await upstream.complete(request);
    expect(whole).toMatchObject({ text: direct.text, finishReason: 'length', usage: counts(direct.usage) });
    const stop = direct.text.slice(4, 7);
    const deltas: string[] = [];
    const cut = await upstream.complete({ ...request, stop }, { onDelta: (d) => deltas.push(d) });
    expect(cut.text).toBe(direct.text.slice(0, direct.text.indexOf(stop)));
    expect(cut.finishReason).toBe('stop');
    expect(deltas.join('')).toBe(cut.text);
    expect(server.requests.at(-1)?.body).toMatchObject({ stop: [stop] });
  });

  it('relays prompts and embedding inputs of token ids as they are', async () => {
    const request = { prompt: [1, 70, 80], seed: 4, max_tokens: 6 };
    const direct = await backing.complete(request);
    expect(await upstream.complete(request)).toMatchObject({ text: direct.text });
    expect(server.requests.at(-1)?.body).toMatchObject({ prompt: [1, 70, 80] });
    const embedded = await upstream.embed({ input: [[70, 80], [90]] });
    expect(embedded.vectors).toHaveLength(2);
    expect(server.requests.at(-1)?.body).toMatchObject({ input: [[70, 80], [90]] });
  });

  it("relays a completion's suffix (fill in the middle), and the server's refusal when its model has no such tokens", async () => {
    const error = await upstream
      .complete({ prompt: 'def f():', suffix: '  return 1', max_tokens: 4 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ podCode: 'pod_bad_request' });
    expect((error as Error).message).toContain('fill-in-the-middle');
    expect(server.requests.at(-1)?.body).toMatchObject({ prompt: 'def f():', suffix: '  return 1' });
  });

  it('relays embeddings in input order with their usage', async () => {
    const input = ['hello', 'the GPU node', 'pod'];
    const direct = await backing.embed({ input });
    const relayed = await upstream.embed({ input });
    expect(relayed).toEqual({ model: 'neurino-tiny', vectors: direct.vectors, usage: direct.usage });
    expect(server.requests.at(-1)?.body).not.toHaveProperty('dimensions');
    // The size asked goes to the server, whose model answers it if it can (the miner checks what comes).
    await upstream.embed({ input, dimensions: 16 });
    expect(server.requests.at(-1)?.body).toMatchObject({ dimensions: 16 });
  });

  it('counts nothing when the upstream reports no usage, rather than guessing', async () => {
    const quiet = new OpenAIUpstreamRuntime({ baseUrl: noUsageServer.baseUrl, model: 'neurino-tiny' });
    await quiet.load();
    // Seeded: an unseeded sample of the tiny model may end at once, and this test is about usage, not text.
    const whole = await quiet.chat({ ...hello, max_tokens: 5, seed: 7, temperature: 0.7 });
    const streamed = await quiet.complete({ prompt: 'x', max_tokens: 5 }, { onDelta: () => {} });
    const embedded = await quiet.embed({ input: 'x' });
    expect([whole.usage, streamed.usage, embedded.usage]).toEqual([null, null, null]);
    expect(whole.text.length).toBeGreaterThan(0);
    await quiet.unload();
  });

  it('sends the API key as a bearer token and loads only with the right one', async () => {
    const guarded = await startOpenAICompatibleServer(backing, { apiKey: 'sk-test-123' });
    extraServers.push(guarded);
    const keyless = new OpenAIUpstreamRuntime({ baseUrl: guarded.baseUrl, model: 'neurino-tiny' });
    const error = await expectPodError(keyless.load(), 'pod_load_failed', true);
    expect(error.message).toContain('401');
    const keyed = new OpenAIUpstreamRuntime({
      baseUrl: guarded.baseUrl,
      model: 'neurino-tiny',
      apiKey: 'sk-test-123',
    });
    await keyed.load();
    await keyed.chat({ ...hello, max_tokens: 2 });
    expect(guarded.requests.at(-1)?.authorization).toBe('Bearer sk-test-123');
    await keyed.unload();
  });
});

describe('openai-upstream runtime: errors', () => {
  it('maps an upstream 500 to a retryable PodUpstreamError carrying its message', async () => {
    server.failNext(500, 'CUDA out of memory');
    const error = await expectPodError(
      upstream.chat({ ...hello, max_tokens: 3 }),
      'pod_upstream_error',
      true,
    );
    expect(error).toBeInstanceOf(PodUpstreamError);
    expect((error as PodUpstreamError).upstreamStatus).toBe(500);
    expect(error.message).toContain('CUDA out of memory');
    expect(error.code).toBe('node_failed');
  });

  it('treats 502 and 408 as retryable, 429 and 503 as busy, other 4xx as final', async () => {
    for (const [status, message] of [
      [429, 'Model is overloaded'],
      [503, 'server busy, please try again.  maximum pending requests exceeded'],
    ] as const) {
      server.failNext(status, message);
      const busy = await expectPodError(
        upstream.complete({ prompt: 'x', max_tokens: 2 }),
        'pod_upstream_busy',
        true,
      );
      expect(busy.code).toBe('rate_limited');
      expect(busy.message).toContain(message);
    }
    for (const [status, retryable] of [
      [502, true],
      [408, true],
      [404, false],
      [401, false],
    ] as const) {
      server.failNext(status, `status ${status}`);
      await expectPodError(
        upstream.complete({ prompt: 'x', max_tokens: 2 }),
        'pod_upstream_error',
        retryable,
      );
    }
  });

  it('maps an upstream 400 to a final PodBadRequestError, streamed or not', async () => {
    server.failNext(400, 'max_tokens is too large');
    const error = await expectPodError(upstream.chat({ ...hello, max_tokens: 3 }), 'pod_bad_request', false);
    expect(error).toBeInstanceOf(PodBadRequestError);
    expect(error.message).toContain('max_tokens is too large');
    expect(error.details).toMatchObject({ upstreamStatus: 400 });
    // A real one: the upstream's model refuses a prompt longer than its context.
    const long = { prompt: 'hello '.repeat(1100) };
    await expectPodError(upstream.complete(long, { onDelta: () => {} }), 'pod_bad_request', false);
  });

  it('maps a refused connection to a retryable error, at load and per job', async () => {
    const dead = await deadUrl();
    const offline = new OpenAIUpstreamRuntime({ baseUrl: dead, model: 'neurino-tiny' });
    const loadError = await expectPodError(offline.load(), 'pod_load_failed', true);
    expect(loadError).toBeInstanceOf(PodLoadFailedError);
    expect(loadError.message).toContain('ECONNREFUSED');
    // Warm, then the server goes away.
    const doomed = await startOpenAICompatibleServer(backing);
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: doomed.baseUrl, model: 'neurino-tiny' });
    await runtime.load();
    await doomed.close();
    const error = await expectPodError(runtime.chat({ ...hello, max_tokens: 2 }), 'pod_upstream_error', true);
    expect(error.message).toContain('ECONNREFUSED');
    // No server there: the miner announces the pod cold until it is back (pod-recovery.ts).
    expect(isServerGone(error)).toBe(true);
    await expectPodError(runtime.embed({ input: 'x' }), 'pod_upstream_error', true);
    await runtime.unload();
    // A server that answers, even with an error, is there.
    server.failNext(500, 'CUDA out of memory');
    expect(
      isServerGone(await expectPodError(upstream.complete({ prompt: 'x' }), 'pod_upstream_error', true)),
    ).toBe(false);
  });

  it('refuses to load when the upstream does not serve the model, naming what it serves', async () => {
    const wrong = new OpenAIUpstreamRuntime({ baseUrl: server.baseUrl, model: 'llama-3-70b' });
    const error = await expectPodError(wrong.load(), 'pod_load_failed', true);
    expect(error.message).toContain('neurino-tiny');
    expect(wrong.info().warm).toBe(false);
  });

  it('maps answers that are not OpenAI JSON to retryable upstream errors', async () => {
    const html = await rawServer((_, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>proxy login</html>');
    });
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: html, model: 'm' });
    await expectPodError(runtime.load(), 'pod_load_failed', true);
    const shapeless = await rawServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(request.url === '/v1/models' ? JSON.stringify({ data: [{ id: 'm' }] }) : '{"choices": 3}');
    });
    const odd = new OpenAIUpstreamRuntime({ baseUrl: shapeless, model: 'm' });
    await odd.load();
    expect(odd.info().contextSize).toBeNull();
    const error = await expectPodError(odd.chat(hello), 'pod_upstream_error', true);
    expect(error.message).toContain('malformed');
  });

  it('fails a stream that breaks off or reports an error mid-way, retryably', async () => {
    const broken = await rawServer((request, response) => {
      if (request.url === '/v1/models') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ data: [{ id: 'm' }] }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'partial' } }] })}\n\n`,
      );
      if (request.url === '/v1/completions') response.end();
      else response.end(`data: ${JSON.stringify({ error: { message: 'engine died' } })}\n\n`);
    });
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: broken, model: 'm' });
    await runtime.load();
    const deltas: string[] = [];
    const cut = await expectPodError(
      runtime.complete({ prompt: 'x' }, { onDelta: (d) => deltas.push(d) }),
      'pod_upstream_error',
      true,
    );
    expect(cut.message).toContain('ended before the answer finished');
    expect(deltas).toEqual(['partial']);
    const died = await expectPodError(runtime.chat(hello, { onDelta: () => {} }), 'pod_upstream_error', true);
    expect(died.message).toContain('engine died');
  });

  it('times out an upstream that never answers, retryably', async () => {
    const silent = await rawServer(() => {
      // accepts the request and never answers
    });
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: silent, model: 'm', timeoutMs: 200 });
    const error = await expectPodError(runtime.load(), 'pod_load_failed', true);
    expect(error.message).toContain('timed out');
  });

  it('keeps keys out of error messages and refuses credentials in the URL', async () => {
    const dead = new URL(await deadUrl());
    dead.search = '?api-key=secret';
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: dead.toString(), model: 'm', apiKey: 'sk-secret' });
    const error = await expectPodError(runtime.load(), 'pod_load_failed', true);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).not.toMatch(/secret/);
    expect(JSON.stringify(error)).not.toMatch(/secret/);
    dead.search = '';
    dead.username = 'operator';
    dead.password = 'hunter2';
    expect(() => new OpenAIUpstreamRuntime({ baseUrl: dead.toString(), model: 'm' })).toThrow(/credentials/);
  });

  it('keeps the base URL query on every request', async () => {
    const seen: string[] = [];
    const gateway = await rawServer((request, response) => {
      seen.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ data: [{ id: 'm' }] }));
    });
    await new OpenAIUpstreamRuntime({ baseUrl: `${gateway}/?api-version=2`, model: 'm' }).load();
    expect(seen).toEqual(['/v1/models?api-version=2']);
  });
});

describe('openai-upstream runtime: lifecycle and bad input', () => {
  it('stops relaying when aborted mid-stream, and the upstream stops generating', async () => {
    const controller = new AbortController();
    let deltas = 0;
    let streamed = '';
    const onDelta = (piece: string) => {
      deltas += 1;
      streamed += piece;
      if (deltas === 3) controller.abort();
    };
    const error = await expectPodError(
      upstream.complete({ prompt: 'x', seed: 3, max_tokens: 800 }, { signal: controller.signal, onDelta }),
      'pod_aborted',
      false,
    );
    expect(deltas).toBe(3);
    // What it had relayed comes with the abort (a caller who walked away pays for it): the text that went
    // out, one token per piece at least (this upstream sends its usage only at the end), no token ids.
    expect((error as PodAbortedError).partial).toEqual({
      text: streamed,
      usage: { promptTokens: 0, completionTokens: 3 },
    });
    expect(upstream.info().activeJobs).toBe(0);
    // The closed connection aborts the job on the upstream's side too.
    await vi.waitFor(() => expect(backing.info().activeJobs).toBe(0));
  });

  it('counts a stopped stream by the usage an upstream sends with each chunk, when it does', async () => {
    const counting = await rawServer((request, response) => {
      if (request.url === '/v1/models') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ data: [{ id: 'm' }] }));
        return;
      }
      // As vLLM's continuous_usage_stats: each piece holds two tokens, and the stream never ends.
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 1; i <= 3; i++) {
        const usage = { prompt_tokens: 7, completion_tokens: 2 * i, total_tokens: 7 + 2 * i };
        const chunk = { choices: [{ index: 0, delta: { content: `p${i}` } }], usage };
        response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }
    });
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: counting, model: 'm' });
    await runtime.load();
    const controller = new AbortController();
    const onDelta = (piece: string) => {
      if (piece === 'p3') controller.abort();
    };
    const error = await expectPodError(
      runtime.chat(hello, { signal: controller.signal, onDelta }),
      'pod_aborted',
      false,
    );
    expect((error as PodAbortedError).partial).toEqual({
      text: 'p1p2p3',
      usage: { promptTokens: 7, completionTokens: 6 },
    });
    await runtime.unload();
  });

  it('hands over the time, not the text, of an answer stopped before it came whole', async () => {
    const controller = new AbortController();
    const asked = server.requests.length;
    // Seeded: this one runs for 631 tokens on the tiny model, stopped as soon as the server has it.
    const whole = upstream.complete({ prompt: 'x', seed: 3, max_tokens: 800 }, { signal: controller.signal });
    await vi.waitFor(() => expect(server.requests.length).toBe(asked + 1), { interval: 1 });
    controller.abort();
    const error = await expectPodError(whole, 'pod_aborted', false);
    expect((error as PodAbortedError).partial).toEqual({
      text: '',
      usage: { promptTokens: 0, completionTokens: 0 },
    });
    await vi.waitFor(() => expect(backing.info().activeJobs).toBe(0));
  });

  it('hands over nothing when unloaded or timed out mid-stream: those are failures, not stops', async () => {
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: server.baseUrl, model: 'neurino-tiny' });
    await runtime.load();
    let unloading: Promise<void> | undefined;
    const onDelta = () => {
      unloading ??= runtime.unload();
    };
    const error = await expectPodError(
      runtime.complete({ prompt: 'x', seed: 3, max_tokens: 800 }, { onDelta }),
      'pod_not_loaded',
      true,
    );
    expect(error).not.toBeInstanceOf(PodAbortedError);
    await unloading;
  });

  it('validates requests itself, before anything reaches the upstream', async () => {
    const before = server.requests.length;
    await expectPodError(upstream.chat({ messages: [] }), 'pod_bad_request', false);
    await expectPodError(upstream.complete({ prompt: 'x', temperature: -1 }), 'pod_bad_request', false);
    await expectPodError(upstream.embed({ input: [] }), 'pod_bad_request', false);
    // A prompt scored, or the prompt alone: llama-cpp pods' work, not relayed.
    const scored = upstream.complete({ prompt: 'x', echo: true, logprobs: 1 });
    await expectPodError(scored, 'pod_unsupported', false);
    await expect(scored).rejects.toMatchObject({ param: 'echo' });
    // The text of token ids is the model's to spell, and the server does not say it.
    const spelled = upstream.complete({ prompt: [1, 2], echo: true });
    await expect(spelled).rejects.toMatchObject({ podCode: 'pod_unsupported', param: 'echo' });
    const alone = upstream.complete({ prompt: 'x', echo: true, max_tokens: 0 });
    await expect(alone).rejects.toMatchObject({ podCode: 'pod_unsupported', param: 'max_tokens' });
    expect(server.requests.length).toBe(before);
  });

  it('refuses jobs when not loaded and fails running ones on unload', async () => {
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: server.baseUrl, model: 'neurino-tiny', slots: 1 });
    await expectPodError(runtime.chat(hello), 'pod_not_loaded', true);
    await runtime.load();
    // A job streaming when the unload comes (unseeded, the model may end one at its first token: then
    // another is started).
    let running: Promise<unknown> | undefined;
    for (let tries = 0; running === undefined; tries++) {
      if (tries === 10) throw new Error('no job went on past its first token');
      let started: () => void = () => {};
      const streaming = new Promise<'streaming'>((resolve) => {
        started = () => resolve('streaming');
      });
      const job = runtime.complete({ prompt: 'x', max_tokens: 800 }, { onDelta: () => started() });
      const settled = job.then(
        () => 'ended',
        (e: unknown) => e,
      );
      if ((await Promise.race([streaming, settled])) === 'streaming') running = job;
    }
    const waiting = expectPodError(runtime.complete({ prompt: 'x', max_tokens: 5 }), 'pod_not_loaded', true);
    await runtime.unload();
    await Promise.all([expectPodError(running, 'pod_not_loaded', true), waiting]);
    expect(runtime.info()).toMatchObject({ warm: false, activeJobs: 0 });
  });

  it('checks its options when created', () => {
    expect(() => new OpenAIUpstreamRuntime({ baseUrl: 'not a url', model: 'm' })).toThrow();
    expect(() => new OpenAIUpstreamRuntime({ baseUrl: 'ftp://host/v1', model: 'm' })).toThrow(/http/);
    expect(() => new OpenAIUpstreamRuntime({ baseUrl: server.baseUrl, model: '' })).toThrow(/model/);
    expect(() => new OpenAIUpstreamRuntime({ baseUrl: server.baseUrl, model: 'm', slots: 0 })).toThrow(
      /slots/,
    );
  });
});

describe('openai-upstream runtime: tool calling', () => {
  const getWeather = weatherTool;
  const forced: ChatRequest = {
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    tools: [getWeather],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    seed: 5,
    max_tokens: 60,
  };

  function expectWeatherCall(result: GenerationResult) {
    expect(result.finishReason).toBe('tool_calls');
    expect(result.toolCalls).toHaveLength(1);
    const [call] = result.toolCalls ?? [];
    expect(call?.name).toBe('get_weather');
    expect(call?.id).not.toBe('');
    const args = JSON.parse(call?.arguments ?? '') as { city: string };
    expect(args).toEqual({ city: expect.stringMatching(/^(Paris|Rome)$/) });
    return call as ToolCall;
  }

  it("relays a forced call whole, and sends the offer in OpenAI's shape", async () => {
    const relayed = await upstream.chat(forced);
    const call = expectWeatherCall(relayed);
    const direct = await backing.chat(forced);
    expect(direct.toolCalls?.map(({ name, arguments: a }) => ({ name, arguments: a }))).toEqual([
      { name: call.name, arguments: call.arguments },
    ]);
    expect(server.requests.at(-1)?.body).toMatchObject({
      stream: false,
      tools: [getWeather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
  });

  it('relays a forced call streamed: its pieces are passed on as a call, never as text, and assembled', async () => {
    const deltas: string[] = [];
    const pieces: ToolCallDelta[] = [];
    const relayed = await upstream.chat(forced, {
      onDelta: (d) => deltas.push(d),
      onToolCall: (piece) => pieces.push(piece),
    });
    const call = expectWeatherCall(relayed);
    expect(pieces[0]).toMatchObject({ index: 0, id: call.id, name: 'get_weather' });
    expect(pieces.every((piece) => piece.index === 0)).toBe(true);
    expect(pieces.map((piece) => piece.arguments).join('')).toBe(call.arguments);
    expect(deltas.join('')).toBe(relayed.text);
    for (const delta of deltas) {
      expect(delta).not.toContain('get_weather');
      expect(delta).not.toContain('city');
    }
    const whole = await upstream.chat(forced);
    expect(whole.toolCalls?.[0]?.arguments).toBe(call.arguments);
    expect(server.requests.at(-2)?.body).toMatchObject({ stream: true, tool_choice: forced.tool_choice });
  });

  it("sends a follow-up's calls and tool answers in OpenAI's shape", async () => {
    const call = expectWeatherCall(await upstream.chat(forced));
    const openAICall = {
      id: call.id,
      type: 'function' as const,
      function: { name: call.name, arguments: call.arguments },
    };
    const followUp: ChatRequest = {
      messages: [
        ...forced.messages,
        { role: 'assistant', content: null, tool_calls: [openAICall] },
        { role: 'tool', tool_call_id: call.id, content: '{"temperature":21,"sky":"clear"}' },
      ],
      tools: [getWeather],
      seed: 6,
      max_tokens: 20,
    };
    const answer = await upstream.chat(followUp);
    expect(['stop', 'length', 'tool_calls']).toContain(answer.finishReason);
    expect(server.requests.at(-1)?.body).toMatchObject({
      tools: [getWeather],
      tool_choice: 'auto',
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [openAICall] },
        { role: 'tool', tool_call_id: call.id, content: '{"temperature":21,"sky":"clear"}' },
      ],
    });
  });

  /** A runtime loaded on a server that answers every chat with `message`, as some server would. */
  async function answeringWith(message: object, finishReason: string): Promise<OpenAIUpstreamRuntime> {
    const server = await rawServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      if (request.url === '/v1/models') {
        response.end(JSON.stringify({ data: [{ id: 'm' }] }));
        return;
      }
      response.end(JSON.stringify({ choices: [{ index: 0, message, finish_reason: finishReason }] }));
    });
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: server, model: 'm' });
    await runtime.load();
    return runtime;
  }

  it("reads Ollama's calls: object arguments, no id, finish 'stop'", async () => {
    const runtime = await answeringWith(
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Rome' } } }],
      },
      'stop',
    );
    const result = await runtime.chat(forced);
    expect(result).toMatchObject({ text: '', finishReason: 'tool_calls', usage: null });
    expect(result.toolCalls).toEqual([
      { id: expect.stringMatching(/^call_[0-9a-f]+$/), name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
    await runtime.unload();
  });

  it('fails, retryably, an answer calling a tool the caller did not offer, or any when it forbade them', async () => {
    const runtime = await answeringWith(
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'delete_everything', arguments: '{}' } },
        ],
      },
      'tool_calls',
    );
    const error = await expectPodError(runtime.chat(forced), 'pod_upstream_error', true);
    expect(error.message).toContain('"delete_everything", which was not offered');
    await expectPodError(runtime.chat({ ...forced, tool_choice: 'none' }), 'pod_upstream_error', true);
    await expectPodError(runtime.chat({ messages: forced.messages }), 'pod_upstream_error', true);
    await runtime.unload();
  });

  it('passes on nothing more of a stream once it calls a tool the caller did not offer', async () => {
    const stray = await rawServer((request, response) => {
      if (request.url === '/v1/models') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ data: [{ id: 'm' }] }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const calls = [
        { index: 0, id: 'c0', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
        { index: 1, id: 'c1', type: 'function', function: { name: 'delete_everything', arguments: '{' } },
        { index: 1, function: { arguments: '}' } },
        { index: 2, id: 'c2', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
      ];
      for (const piece of calls) {
        const chunk = { choices: [{ index: 0, delta: { tool_calls: [piece] } }] };
        response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }
      const end = { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] };
      response.end(`data: ${JSON.stringify(end)}\n\ndata: [DONE]\n\n`);
    });
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: stray, model: 'm' });
    await runtime.load();
    const pieces: ToolCallDelta[] = [];
    const error = await expectPodError(
      runtime.chat(forced, { onDelta: () => {}, onToolCall: (piece) => pieces.push(piece) }),
      'pod_upstream_error',
      true,
    );
    expect(error.message).toContain('"delete_everything", which was not offered');
    expect(pieces).toEqual([{ index: 0, id: 'c0', name: 'get_weather', arguments: '{}' }]);
    await runtime.unload();
  });

  it('fails a stream that breaks off in the middle of a call, retryably', async () => {
    let sent: unknown;
    const broken = await rawServer((request, response) => {
      if (request.url === '/v1/models') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ data: [{ id: 'm' }] }));
        return;
      }
      void readBody(request).then((body) => {
        sent = body;
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const piece = { index: 0, id: 'call_x', type: 'function', function: { name: 'get_weather' } };
        for (const delta of [{ content: 'Checking.' }, { tool_calls: [piece] }]) {
          response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta }] })}\n\n`);
        }
        response.end();
      });
    });
    const runtime = new OpenAIUpstreamRuntime({ baseUrl: broken, model: 'm' });
    await runtime.load();
    const deltas: string[] = [];
    const error = await expectPodError(
      runtime.chat(forced, { onDelta: (d) => deltas.push(d) }),
      'pod_upstream_error',
      true,
    );
    expect(error.message).toContain('ended before the answer finished');
    expect(deltas).toEqual(['Checking.']);
    expect(sent).toMatchObject({ stream: true, tools: [getWeather] });
    await runtime.unload();
  });
});

/** Token counts without the cache's share, which depends on what the runtime ran before. */
function counts(usage: TokenUsage | null) {
  return { promptTokens: usage?.promptTokens, completionTokens: usage?.completionTokens };
}
