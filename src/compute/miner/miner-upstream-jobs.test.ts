// The job loop on an `openai-upstream` pod: a miner relaying to a real OpenAI-compatible server (the tiny
// model behind it) for a router that verifies every receipt, as an operator with vLLM runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptIdFor, newJobId } from '../../protocol/ids.ts';
import { podId as podIdOf } from '../../protocol/pod-spec.ts';
import { OpenAIUpstreamRuntime } from '../pods/openai-upstream.ts';
import {
  type OpenAICompatibleServer,
  startOpenAICompatibleServer,
} from '../pods/testing/openai-compatible-server.ts';
import type { ChatJobOutput, CompletionJobOutput } from './job-output.ts';
import { upstreamPodSpec } from './local-pods.ts';
import type { Miner } from './miner.ts';
import { startTestMiner, TEST_DOMAIN, type TinyPod, tinyPod } from './testing/miner-fixture.ts';
import { type TestConnection, TestRouter } from './testing/test-router.ts';

let backing: TinyPod;
let upstreamServer: OpenAICompatibleServer;
let relay: OpenAIUpstreamRuntime;
let router: TestRouter;
let miner: Miner;
let connection: TestConnection;
const spec = upstreamPodSpec({ name: 'neurino-tiny', vramMiB: 512 });
const relayPodId = podIdOf(spec);
/** A completion that runs to max_tokens (no early end-of-text), found once: long enough to stop. */
let long: { model: string; prompt: string; max_tokens: number; temperature: number; seed: number };

beforeAll(async () => {
  backing = await tinyPod();
  await backing.runtime.load();
  for (let seed = 1; long === undefined; seed++) {
    const request = { model: 'neurino-tiny', prompt: 'Once upon', max_tokens: 900, temperature: 1, seed };
    if ((await backing.runtime.complete(request)).finishReason === 'length') long = request;
  }
  upstreamServer = await startOpenAICompatibleServer(backing.runtime);
  relay = new OpenAIUpstreamRuntime({ baseUrl: upstreamServer.baseUrl, model: 'neurino-tiny', slots: 2 });
  router = await TestRouter.start({ domain: TEST_DOMAIN, heartbeatMs: 100 });
  ({ miner } = await startTestMiner(backing, router.url, {
    pods: [{ spec, podId: relayPodId, runtime: relay }],
  }));
  connection = await router.welcomedConnection(0);
});

afterAll(async () => {
  await miner?.stop();
  await router?.close();
  await relay?.unload();
  await upstreamServer?.close();
  await backing?.cleanup();
});

const assignLong = (stream: boolean) => {
  const jobId = newJobId();
  const attemptId = attemptIdFor(jobId, 0);
  const running = connection.assign({ jobId, podId: relayPodId, kind: 'completion', input: long, stream });
  return { attemptId, running };
};

describe('jobs on an openai-upstream pod', () => {
  it('relays a chat with the upstream usage, signed without token ids (the upstream keeps them)', async () => {
    const input = {
      model: 'neurino-tiny',
      messages: [{ role: 'user' as const, content: 'hi' }],
      seed: 3,
      max_tokens: 8,
    };
    const outcome = await connection.assign({ podId: relayPodId, kind: 'chat', input });
    expect(outcome.checked?.ok).toBe(true);
    const output = outcome.result?.output as ChatJobOutput;
    const direct = await backing.runtime.chat(input);
    // With the prompt tokens the server's cache held, as it reported them (its slots' state).
    const { cachedPromptTokens, ...answer } = output;
    expect(answer).toEqual({ text: direct.text, finishReason: direct.finishReason });
    expect(cachedPromptTokens ?? 0).toBeLessThan(direct.usage?.promptTokens ?? 0);
    expect(outcome.result?.usage).toEqual({
      inputTokens: direct.usage?.promptTokens,
      outputTokens: direct.usage?.completionTokens,
    });
  });

  it('answers a paid cancel of a stream with a signed result of what it relayed, counted', async () => {
    const { attemptId, running } = assignLong(true);
    await connection.waitFor('job.chunk', (m) => m.attemptId === attemptId && m.seq === 2);
    connection.send({ type: 'job.cancel', attemptId, reason: 'client went away', partial: true });
    const outcome = await running;
    expect(outcome.error).toBeUndefined();
    expect(outcome.checked?.ok).toBe(true);
    const result = outcome.result;
    if (result === undefined) throw new Error('no result');
    const [choice] = (result.output as CompletionJobOutput).choices;
    expect(choice).toEqual({ text: outcome.chunks.map((c) => c.delta).join(''), finishReason: 'cancelled' });
    // One token per relayed piece at least; this upstream sends its usage only at the end of a stream.
    expect(result.usage.outputTokens).toBeGreaterThanOrEqual(outcome.chunks.length);
    expect(result.usage.outputTokens).toBeLessThan(long.max_tokens);
    expect(result.computeUnits).toBeGreaterThan(0n);
    expect(miner.state().slots.free).toBe(2);
  });

  it('answers a paid cancel of a whole answer with the time it took, and a plain cancel with an error', async () => {
    const paid = assignLong(false);
    await connection.waitFor('job.accepted', (m) => m.attemptId === paid.attemptId);
    connection.send({
      type: 'job.cancel',
      attemptId: paid.attemptId,
      reason: 'client went away',
      partial: true,
    });
    const outcome = await paid.running;
    expect(outcome.checked?.ok).toBe(true);
    expect(outcome.result?.output).toEqual({ choices: [{ text: '', finishReason: 'cancelled' }] });
    expect(outcome.result?.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
    expect(outcome.result?.computeUnits).toBeGreaterThan(0n);

    const plain = assignLong(true);
    await connection.waitFor('job.chunk', (m) => m.attemptId === plain.attemptId);
    connection.send({ type: 'job.cancel', attemptId: plain.attemptId, reason: 'router gave up' });
    const stopped = await plain.running;
    expect(stopped.result).toBeUndefined();
    expect(stopped.error).toMatchObject({ code: 'job_cancelled', retryable: false });
  });

  it("reports an upstream at capacity (its 429) as rate_limited: busy, not the node's fault", async () => {
    upstreamServer.failNext(429, 'Model is overloaded');
    const refused = await connection.assign({
      podId: relayPodId,
      kind: 'chat',
      input: { model: 'neurino-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
    });
    expect(refused.result).toBeUndefined();
    expect(refused.error).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(refused.error?.message).toContain('Model is overloaded');
    expect(refused.error?.retryAfterMs).toBeUndefined();
  });

  it('passes on the wait an upstream asks for (Retry-After), and takes a 503 as busy too', async () => {
    const chat = () =>
      connection.assign({
        podId: relayPodId,
        kind: 'chat',
        input: { model: 'neurino-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
      });
    upstreamServer.failNext(429, 'Rate limit reached', { 'retry-after': '7' });
    expect((await chat()).error).toMatchObject({ code: 'rate_limited', retryAfterMs: 7_000 });
    upstreamServer.failNext(429, 'Rate limit reached', { 'retry-after-ms': '1500', 'retry-after': '2' });
    expect((await chat()).error).toMatchObject({ code: 'rate_limited', retryAfterMs: 1_500 });
    upstreamServer.failNext(503, 'server busy', { 'retry-after': '30' });
    expect((await chat()).error).toMatchObject({ code: 'rate_limited', retryAfterMs: 30_000 });
    // Ollama past its queue sends none: busy all the same (the router pauses it a second).
    upstreamServer.failNext(503, 'server busy, please try again.  maximum pending requests exceeded');
    const full = (await chat()).error;
    expect(full).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(full?.retryAfterMs).toBeUndefined();
    // Any other 5xx is the node's fault.
    upstreamServer.failNext(502, 'bad gateway');
    expect((await chat()).error).toMatchObject({ code: 'node_failed', retryable: true });
  });
});
