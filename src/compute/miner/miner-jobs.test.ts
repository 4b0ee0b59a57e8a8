// The job loop end to end: a real llama.cpp runtime on the tiny model, a miner dialing a router that
// verifies every receipt with checkJobResult.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { attemptIdFor, newJobId } from '../../protocol/ids.ts';
import { podId as podIdOf } from '../../protocol/pod-spec.ts';
import type { LogLine } from '../../protocol/testing/capture-logger.ts';
import { computeUnits, priceFor } from '../../protocol/units.ts';
import { LlamaCppRuntime } from '../pods/llama-cpp.ts';
import { weatherTool } from '../pods/testing/weather-tool.ts';
import { ACKNOWLEDGE_AFTER_MS } from './job-desk.ts';
import type {
  ChatChoicesOutput,
  ChatJobOutput,
  CompletionJobOutput,
  EmbeddingsJobOutput,
} from './job-output.ts';
import type { Miner } from './miner.ts';
import { startTestMiner, TEST_DOMAIN, type TinyPod, tinyPod } from './testing/miner-fixture.ts';
import { type TestConnection, TestRouter } from './testing/test-router.ts';

let pod: TinyPod;
let router: TestRouter;
let miner: Miner;
let lines: LogLine[];
let connection: TestConnection;
/** A completion request that runs to max_tokens (no early end-of-text), found once: long enough to cancel. */
let longRequest: Record<string, unknown>;
/**
 * The miner stops a job by itself this long past its deadline (the router's cancel comes first). A fraction
 * of the time the long request takes here, so the backstop fires before it ends on any machine.
 */
let backstopMs: number;

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'neurino-tiny',
  messages: [{ role: 'user' as const, content }],
  temperature: 0.8,
  seed: 42,
  max_tokens: 24,
  ...extra,
});

beforeAll(async () => {
  pod = await tinyPod();
  await pod.runtime.load();
  let longMs = 0;
  for (let seed = 1; ; seed++) {
    const request = { model: 'neurino-tiny', prompt: 'Once upon', max_tokens: 900, temperature: 1, seed };
    const result = await pod.runtime.complete(request);
    if (result.finishReason === 'length') {
      longRequest = request;
      // Timed again, warm.
      const started = performance.now();
      await pod.runtime.complete(request);
      longMs = performance.now() - started;
      break;
    }
  }
  backstopMs = Math.max(10, Math.min(150, Math.floor(longMs / 4)));
  router = await TestRouter.start({ domain: TEST_DOMAIN, heartbeatMs: 100 });
  ({ miner, lines } = await startTestMiner(pod, router.url, { deadlineBackstopMs: backstopMs }));
  connection = await router.welcomedConnection(0);
});

afterAll(async () => {
  await miner?.stop();
  await router?.close();
  await pod?.cleanup();
});

describe('jobs', () => {
  it('runs a chat job and returns a result whose receipt the router verifies', async () => {
    const outcome = await connection.assign({ podId: pod.podId, kind: 'chat', input: chat('hello') });
    expect(outcome.error).toBeUndefined();
    expect(outcome.chunks).toEqual([]);
    expect(outcome.checked?.ok).toBe(true);
    const result = outcome.result;
    if (result === undefined) throw new Error('no result');
    const receipt = outcome.checked?.ok ? outcome.checked.receipt : undefined;
    expect(receipt?.node).toBe(miner.address);
    expect(result.vramMiB).toBe(pod.spec.minVramMiB);
    expect(result.computeUnits).toBe(computeUnits(result.gpuMs, result.vramMiB));
    expect(receipt?.price).toBe(priceFor(result.computeUnits, outcome.assign.pricePerUnit));
    expect(result.computeUnits).toBeGreaterThan(0n);

    // Real counts: the same seeded request on the runtime directly gives the same text and usage.
    const direct = await pod.runtime.chat(chat('hello'));
    const output = result.output as ChatJobOutput;
    expect(output.text).toBe(direct.text);
    expect(output.finishReason).toBe(direct.finishReason);
    expect(output.tokenIds).toEqual(direct.completionTokenIds);
    expect(result.usage).toEqual({
      inputTokens: direct.usage?.promptTokens,
      outputTokens: direct.usage?.completionTokens,
    });
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBe(output.tokenIds?.length);
  });

  it('streams a chat job chunk by chunk, numbered without gaps, adding up to the signed text', async () => {
    const outcome = await connection.assign({
      podId: pod.podId,
      kind: 'chat',
      input: chat('stream me'),
      stream: true,
    });
    expect(outcome.checked?.ok).toBe(true);
    const output = outcome.result?.output as ChatJobOutput;
    expect(outcome.chunks.length).toBeGreaterThan(0);
    expect(outcome.chunks.map((c) => c.seq)).toEqual(outcome.chunks.map((_, i) => i));
    expect(outcome.chunks.map((c) => c.delta).join('')).toBe(output.text);
    expect(outcome.result?.usage.outputTokens).toBe(output.tokenIds?.length);
  });

  it('acknowledges an attempt once, before its first chunk, and ends it with one result', async () => {
    const from = connection.received.length;
    const outcome = await connection.assign({
      podId: pod.podId,
      kind: 'chat',
      input: chat('in order'),
      stream: true,
    });
    expect(outcome.checked?.ok).toBe(true);
    const frames = connection.received
      .slice(from)
      .filter((m) => 'attemptId' in m && m.attemptId === outcome.assign.attemptId)
      .map((m) => m.type);
    expect(frames.length).toBeGreaterThan(2);
    expect(frames).toEqual(['job.accepted', ...frames.slice(1, -1).map(() => 'job.chunk'), 'job.result']);
  });

  it('acknowledges a job still running after a moment, once, before its result', async () => {
    const from = connection.received.length;
    const started = performance.now();
    const outcome = await connection.assign({ podId: pod.podId, kind: 'completion', input: longRequest });
    expect(performance.now() - started).toBeGreaterThan(ACKNOWLEDGE_AFTER_MS);
    expect(outcome.accepted).toBe(true);
    const frames = connection.received
      .slice(from)
      .filter((m) => 'attemptId' in m && m.attemptId === outcome.assign.attemptId)
      .map((m) => m.type);
    expect(frames).toEqual(['job.accepted', 'job.result']);
  });

  it('reports a job the runtime refuses at once with its error alone: no acknowledgement needed', async () => {
    // Passes the schema, but holds more tokens than the tiny model's context.
    const from = connection.received.length;
    const outcome = await connection.assign({
      podId: pod.podId,
      kind: 'chat',
      input: chat('word '.repeat(2_000)),
    });
    expect(outcome.accepted).toBe(false);
    expect(outcome.error).toMatchObject({ code: 'invalid_request', retryable: false });
    expect(outcome.error?.message).toMatch(/tokens/);
    const frames = connection.received
      .slice(from)
      .filter((m) => 'attemptId' in m && m.attemptId === outcome.assign.attemptId)
      .map((m) => m.type);
    expect(frames).toEqual(['job.error']);
    expect(miner.state().slots.free).toBe(2);
  });

  it("names the input field it refuses, for the caller's error param", async () => {
    const outcome = await connection.assign({
      podId: pod.podId,
      kind: 'chat',
      input: {
        ...chat('x'),
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'code', schema: { type: 'string', pattern: '^[A-Z]+$' } },
        },
      },
    });
    expect(outcome.error).toMatchObject({
      code: 'unsupported_parameter',
      retryable: false,
      param: 'response_format.json_schema.schema.pattern',
    });
    const tools = await connection.assign({
      podId: pod.podId,
      kind: 'chat',
      input: {
        ...chat('x'),
        tools: [
          {
            type: 'function',
            function: {
              name: 'f',
              parameters: { type: 'object', minProperties: 1, properties: { a: { minimum: 1 } } },
            },
          },
        ],
      },
    });
    expect(tools.error).toMatchObject({
      code: 'unsupported_parameter',
      param: 'tools[0].function.parameters.properties.a.minimum',
    });
  });

  it('answers a forced tool call with the call in its signed output, counted like any text', async () => {
    const input = {
      ...chat('Weather?'),
      tools: [weatherTool],
      tool_choice: 'required',
      max_tokens: 100,
    };
    const outcome = await connection.assign({ podId: pod.podId, kind: 'chat', input, stream: true });
    expect(outcome.checked?.ok).toBe(true);
    const output = outcome.result?.output as ChatJobOutput;
    expect(output.finishReason).toBe('tool_calls');
    expect(output.toolCalls).toEqual([
      {
        id: expect.stringMatching(/^call_/),
        name: 'get_weather',
        arguments: expect.stringMatching(/^\{"city":"(Paris|Rome)"\}$/),
      },
    ]);
    expect(outcome.chunks.map((c) => c.delta).join('')).toBe(output.text);
    // The call streamed as the model wrote it: named in its first frame, its arguments in the next ones.
    const calls = outcome.chunks.flatMap((c) => (c.toolCall === undefined ? [] : [c.toolCall]));
    const [first, ...rest] = calls;
    expect(first).toEqual({ index: 0, id: output.toolCalls?.[0]?.id, name: 'get_weather', arguments: '' });
    expect(rest.length).toBeGreaterThan(1);
    expect(rest.map((piece) => piece.arguments).join('')).toBe(output.toolCalls?.[0]?.arguments);
    expect(outcome.result?.usage.outputTokens).toBe(output.tokenIds?.length);
  });

  it('runs a completion with one choice per prompt and summed usage', async () => {
    const input = {
      model: 'neurino-tiny',
      prompt: ['The sky', 'A cat'],
      max_tokens: 6,
      seed: 1,
      temperature: 0.5,
    };
    const outcome = await connection.assign({ podId: pod.podId, kind: 'completion', input });
    expect(outcome.checked?.ok).toBe(true);
    const output = outcome.result?.output as CompletionJobOutput;
    expect(output.choices).toHaveLength(2);
    const first = await pod.runtime.complete({ ...input, prompt: 'The sky' });
    const second = await pod.runtime.complete({ ...input, prompt: 'A cat' });
    expect(output.choices.map((c) => c.text)).toEqual([first.text, second.text]);
    expect(outcome.result?.usage).toEqual({
      inputTokens: (first.usage?.promptTokens ?? 0) + (second.usage?.promptTokens ?? 0),
      outputTokens: (first.usage?.completionTokens ?? 0) + (second.usage?.completionTokens ?? 0),
    });
  });

  it('answers n choices, each seeded after the last, the prompt counted once and every choice paid', async () => {
    const input = { ...chat('Pick a word'), n: 3, max_tokens: 5 };
    const outcome = await connection.assign({ podId: pod.podId, kind: 'chat', input });
    expect(outcome.checked?.ok).toBe(true);
    const { choices } = (outcome.result?.output ?? { choices: [] }) as ChatChoicesOutput;
    const direct = await Promise.all(
      [42, 43, 44].map((seed) => pod.runtime.chat({ ...chat('Pick a word'), max_tokens: 5, seed })),
    );
    expect(choices.map((c) => c.text)).toEqual(direct.map((d) => d.text));
    expect(new Set(choices.map((c) => c.text)).size).toBeGreaterThan(1);
    expect(outcome.result?.usage).toEqual({
      inputTokens: direct[0]?.usage?.promptTokens,
      outputTokens: direct.reduce((sum, d) => sum + (d.usage?.completionTokens ?? 0), 0),
    });

    const completion = await connection.assign({
      podId: pod.podId,
      kind: 'completion',
      input: { model: 'neurino-tiny', prompt: ['The sky', 'A cat'], n: 2, max_tokens: 4, seed: 1 },
    });
    expect(completion.checked?.ok).toBe(true);
    const completed = (completion.result?.output ?? { choices: [] }) as CompletionJobOutput;
    const texts = completed.choices.map((c) => c.text);
    const expected = await Promise.all(
      [
        ['The sky', 1],
        ['The sky', 2],
        ['A cat', 1],
        ['A cat', 2],
      ].map(([prompt, seed]) =>
        pod.runtime.complete({
          model: 'neurino-tiny',
          prompt: prompt as string,
          max_tokens: 4,
          seed: seed as number,
        }),
      ),
    );
    expect(texts).toEqual(expected.map((e) => e.text));
  });

  it("scores each prompt once for echo, streaming its entries before its first choice's text", async () => {
    const input = {
      model: 'neurino-tiny',
      prompt: ['The sky', 'A cat'],
      n: 2,
      echo: true,
      logprobs: 1,
      max_tokens: 3,
      seed: 5,
    };
    const outcome = await connection.assign({ podId: pod.podId, kind: 'completion', input, stream: true });
    expect(outcome.checked?.ok).toBe(true);
    const { choices } = (outcome.result?.output ?? { choices: [] }) as CompletionJobOutput;
    const direct = await pod.runtime.complete({ ...input, prompt: 'A cat' });
    // Each prompt's first choice carries its entries; the second shares them.
    expect(choices.map((c) => c.promptLogprobs !== undefined)).toEqual([true, false, true, false]);
    expect(choices[2]?.promptLogprobs).toEqual(direct.promptLogprobs);
    for (const index of [0, 2]) {
      const ofChoice = outcome.chunks.filter((c) => (c.choice ?? 0) === index);
      const firstText = ofChoice.findIndex((c) => c.promptLogprobs === undefined);
      const streamed = ofChoice.slice(0, firstText).flatMap((c) => c.promptLogprobs ?? []);
      expect(streamed).toEqual(choices[index]?.promptLogprobs);
      expect(ofChoice.slice(firstText).every((c) => c.promptLogprobs === undefined)).toBe(true);
    }
    // The prompt is read once per prompt, whatever the choices: as without echo.
    const plain = await connection.assign({
      podId: pod.podId,
      kind: 'completion',
      input: { ...input, echo: false },
    });
    expect(outcome.result?.usage).toEqual(plain.result?.usage);
  });

  it("says in its signed output how many prompt tokens its pod's cache held, once per prompt", async () => {
    const input = { ...chat('Which GPU is free?'), n: 2, max_tokens: 3 };
    await connection.assign({ podId: pod.podId, kind: 'chat', input });
    const again = await connection.assign({ podId: pod.podId, kind: 'chat', input });
    expect(again.checked?.ok).toBe(true);
    const output = again.result?.output as ChatChoicesOutput;
    // The slot held the whole prompt but its last token; the second choice's hit is not counted again.
    expect(output.cachedPromptTokens).toBe((again.result?.usage.inputTokens ?? 0) - 1);
    const completion = await connection.assign({
      podId: pod.podId,
      kind: 'completion',
      input: { model: 'neurino-tiny', prompt: ['Which GPU is free?', 'Which GPU is free?'], max_tokens: 2 },
    });
    const completed = completion.result?.output as CompletionJobOutput;
    const perPrompt = (completion.result?.usage.inputTokens ?? 0) / 2;
    expect(completed.cachedPromptTokens).toBeGreaterThanOrEqual(perPrompt - 1);
    expect(completed.cachedPromptTokens).toBeLessThanOrEqual(2 * (perPrompt - 1));
  });

  it('embeds inputs into unit vectors', async () => {
    const outcome = await connection.assign({
      podId: pod.podId,
      kind: 'embeddings',
      input: { model: 'neurino-tiny', input: ['one', 'two words'] },
    });
    expect(outcome.checked?.ok).toBe(true);
    const { embeddings } = (outcome.result?.output ?? {}) as EmbeddingsJobOutput;
    expect(embeddings).toHaveLength(2);
    for (const vector of embeddings) {
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    expect(outcome.result?.usage.inputTokens).toBeGreaterThan(0);
    expect(outcome.result?.usage.outputTokens).toBe(0);
  });

  it("answers a Matryoshka model's pod its vectors' first dimensions, normalised again", async () => {
    const spec = { ...pod.spec, options: { matryoshka: true } };
    const runtime = new LlamaCppRuntime({ modelPath: pod.modelPath, slots: 1 });
    const index = router.admitted.length;
    const nested = await startTestMiner({ ...pod, spec, podId: podIdOf(spec), runtime }, router.url);
    try {
      const other = await router.welcomedConnection(index);
      const embed = async (dimensions?: number) => {
        const input = {
          model: 'neurino-tiny',
          input: 'x',
          ...(dimensions === undefined ? {} : { dimensions }),
        };
        const outcome = await other.assign({ podId: podIdOf(spec), kind: 'embeddings', input });
        expect(outcome.checked?.ok).toBe(true);
        return ((outcome.result?.output ?? {}) as EmbeddingsJobOutput).embeddings[0] ?? [];
      };
      const full = await embed();
      const cut = await embed(16);
      expect(cut).toHaveLength(16);
      expect(Math.hypot(...cut)).toBeCloseTo(1, 5);
      const scale = Math.hypot(...full.slice(0, 16));
      for (const [i, x] of cut.entries()) expect(x).toBeCloseTo((full[i] ?? 0) / scale, 5);
    } finally {
      await nested.miner.stop();
      await runtime.unload();
    }
  });

  it('refuses embeddings of a width the model does not have, before embedding anything', async () => {
    const embed = vi.spyOn(pod.runtime, 'embed');
    try {
      const outcome = await connection.assign({
        podId: pod.podId,
        kind: 'embeddings',
        input: { model: 'neurino-tiny', input: 'x', dimensions: 3 },
      });
      expect(outcome.error).toMatchObject({ code: 'unsupported_parameter', retryable: false });
      expect(outcome.error?.message).toContain(
        'have 64 dimensions, not 3 (only a Matryoshka model answers fewer',
      );
      expect(embed).not.toHaveBeenCalled();
    } finally {
      embed.mockRestore();
    }
  });
});

describe('cancel and deadlines', () => {
  /** The long completion, assigned: its attempt id and its outcome to come. */
  const assignLong = (stream: boolean) => {
    const jobId = newJobId();
    const attemptId = attemptIdFor(jobId, 0);
    const running = connection.assign({
      jobId,
      podId: pod.podId,
      kind: 'completion',
      input: longRequest,
      stream,
    });
    return { attemptId, running };
  };

  it('stops a job on job.cancel and frees its slot', async () => {
    const { attemptId, running } = assignLong(true);
    await connection.waitFor('job.chunk', (m) => m.attemptId === attemptId);
    connection.send({ type: 'job.cancel', attemptId, reason: 'client went away' });
    const outcome = await running;
    expect(outcome.result).toBeUndefined();
    expect(outcome.error).toMatchObject({
      code: 'job_cancelled',
      retryable: false,
      message: 'client went away',
    });
    expect(miner.state().slots.free).toBe(2);
  });

  it('answers a paid cancel (the client went away) with a signed result of the work done so far', async () => {
    for (const stream of [true, false]) {
      const { attemptId, running } = assignLong(stream);
      if (stream) {
        await connection.waitFor('job.chunk', (m) => m.attemptId === attemptId && m.seq === 2);
      } else {
        await connection.waitFor('job.accepted', (m) => m.attemptId === attemptId);
      }
      connection.send({ type: 'job.cancel', attemptId, reason: 'client went away', partial: true });
      const outcome = await running;
      expect(outcome.error).toBeUndefined();
      expect(outcome.checked?.ok).toBe(true);
      const result = outcome.result;
      if (result === undefined) throw new Error('no result');
      const [choice] = (result.output as CompletionJobOutput).choices;
      expect(choice?.finishReason).toBe('cancelled');
      // Less than asked for, counted as ever; the text holds every chunk the stream sent before the cancel.
      expect(result.usage.outputTokens).toBe(choice?.tokenIds?.length);
      expect(result.usage.outputTokens).toBeGreaterThan(0);
      expect(result.usage.outputTokens).toBeLessThan(longRequest.max_tokens as number);
      if (stream) expect(choice?.text.startsWith(outcome.chunks.map((c) => c.delta).join(''))).toBe(true);
      expect(result.computeUnits).toBeGreaterThan(0n);
      expect(miner.state().slots.free).toBe(2);
    }
  });

  it('refuses a job that arrives after its deadline, without accepting it', async () => {
    const outcome = await connection.assign({
      podId: pod.podId,
      kind: 'chat',
      input: chat('late'),
      deadlineAt: Date.now() - 1,
    });
    expect(outcome.accepted).toBe(false);
    expect(outcome.error).toMatchObject({ code: 'deadline_exceeded', retryable: false });
  });

  it('stops a job the router did not cancel at its deadline, a backstop later', async () => {
    // Deadline and backstop pass within half the long request's time, so the miner's backstop fires.
    const deadlineAt = Date.now() + backstopMs;
    const outcome = await connection.assign({
      podId: pod.podId,
      kind: 'completion',
      input: longRequest,
      deadlineAt,
    });
    // Less a millisecond: a timer counts from the event loop's cached clock, which may lag Date.now().
    expect(Date.now()).toBeGreaterThanOrEqual(deadlineAt + backstopMs - 1);
    expect(outcome.accepted).toBe(true);
    expect(outcome.error).toMatchObject({ code: 'deadline_exceeded', retryable: false });
    expect(miner.state().slots.free).toBe(2);
  });
});

describe('refusals and bad input', () => {
  it('refuses a job for a pod this node does not host, retryably', async () => {
    const other = podIdOf({ ...pod.spec, name: 'someone-else' });
    const outcome = await connection.assign({ podId: other, kind: 'chat', input: chat('x') });
    expect(outcome.accepted).toBe(false);
    expect(outcome.error).toMatchObject({ code: 'pod_load_failed', retryable: true });
  });

  it('refuses a kind the pod does not serve, and a body that fails its schema, naming the field', async () => {
    const generic = await connection.assign({ podId: pod.podId, kind: 'generic', input: { x: 1 } });
    expect(generic.error).toMatchObject({ code: 'unsupported_parameter', retryable: false });
    const bad = await connection.assign({
      podId: pod.podId,
      kind: 'chat',
      input: { model: 'neurino-tiny', messages: 'hi' },
    });
    expect(bad.accepted).toBe(false);
    expect(bad.error).toMatchObject({ code: 'invalid_request', retryable: false });
    expect(bad.error?.message).toMatch(/^messages/);
  });

  it('answers a job.assign that fails its schema with job.error, logs bad frames, and keeps serving', async () => {
    const attemptId = attemptIdFor(newJobId(), 0);
    const from = connection.received.length;
    connection.sendRaw('this is not json');
    connection.sendRaw(JSON.stringify({ type: 'job.assign', attemptId, jobId: 'nope' }));
    connection.sendRaw(JSON.stringify({ type: 'heartbeat', at: 1, slotsFree: 1, load: 0 }));
    connection.sendRaw(JSON.stringify({ type: 'teleport' }));
    const error = await connection.waitFor('job.error', (m) => m.attemptId === attemptId, from);
    expect(error).toMatchObject({ code: 'schema_violation', retryable: false });
    const refused = lines.filter((l) => l.msg.startsWith('refused a frame from the router'));
    expect(refused.map((l) => l.code)).toEqual([
      'protocol_error',
      'schema_violation',
      'protocol_error',
      'unknown_message_type',
    ]);
    const outcome = await connection.assign({ podId: pod.podId, kind: 'chat', input: chat('still here') });
    expect(outcome.checked?.ok).toBe(true);
    expect(connection.badFrames).toEqual([]);
  });

  it('refuses a job with no free slot', async () => {
    const jobs = [newJobId(), newJobId()];
    const running = jobs.map((jobId) =>
      connection.assign({ jobId, podId: pod.podId, kind: 'completion', input: longRequest, stream: true }),
    );
    for (const jobId of jobs)
      await connection.waitFor('job.chunk', (m) => m.attemptId === attemptIdFor(jobId, 0));
    const third = await connection.assign({ podId: pod.podId, kind: 'chat', input: chat('x') });
    expect(third.accepted).toBe(false);
    // It took no slot: its free ones as it refused, so the router stops sending until one frees.
    expect(third.error).toMatchObject({ code: 'no_capacity', retryable: true, slotsFree: 0 });
    for (const outcome of await Promise.all(running)) expect(outcome.checked?.ok).toBe(true);
  });
});

describe('pods on request', () => {
  it('unloads and reloads the pod, announcing warm pods each time', async () => {
    const from = connection.received.length;
    connection.send({ type: 'pod.unload', podId: pod.podId });
    await connection.waitFor('pod.unloaded', (m) => m.podId === pod.podId, from);
    expect(pod.runtime.info().warm).toBe(false);
    await connection.waitFor('capabilities', (m) => m.warmPods.length === 0, from);

    // A job for the cold pod loads it first and is served.
    const outcome = await connection.assign({ podId: pod.podId, kind: 'chat', input: chat('cold start') });
    expect(outcome.checked?.ok).toBe(true);
    await connection.waitFor('capabilities', (m) => m.warmPods.includes(pod.podId), from);

    connection.send({ type: 'pod.unload', podId: pod.podId });
    await connection.waitFor('pod.unloaded', () => true, connection.received.length);
    const beforeLoad = connection.received.length;
    connection.send({ type: 'pod.load', podId: pod.podId, spec: pod.spec });
    const loaded = await connection.waitFor('pod.loaded', (m) => m.podId === pod.podId, beforeLoad);
    expect(loaded.loadMs).toBeGreaterThanOrEqual(0);
    expect(miner.state().warmPods).toEqual([pod.podId]);
  });

  it('answers pod.failed for pods it was not configured with', async () => {
    const spec = { ...pod.spec, name: 'not-here' };
    const other = podIdOf(spec);
    for (const request of [
      { type: 'pod.load', podId: other, spec } as const,
      { type: 'pod.unload', podId: other } as const,
    ]) {
      const from = connection.received.length;
      connection.send(request);
      const failed = await connection.waitFor('pod.failed', (m) => m.podId === other, from);
      expect(failed.code).toBe('pod_not_found');
    }
    expect(miner.state().warmPods).toEqual([pod.podId]);
  });
});

describe('heartbeats', () => {
  it("beats at the router's interval with free slots and load", async () => {
    const from = connection.received.length;
    const beat = await connection.waitFor('heartbeat', () => true, from);
    expect(beat.slotsFree).toBe(2);
    expect(beat.load).toBeGreaterThanOrEqual(0);
    expect(beat.load).toBeLessThanOrEqual(1);
  });
});
