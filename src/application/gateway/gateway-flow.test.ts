// The gateway over real HTTP with miners speaking the protocol over WebSocket: answers and streams in
// OpenAI's exact shapes, metering (charged once on the node's receipt, free on failure), retries,
// deadlines, client disconnects, the jobs API and draining.
import OpenAI from 'openai';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { ReceiptFilter } from '../../orchestration/metering/credit-ledger.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { embeddingFromBase64 } from '../../protocol/openai-responses.ts';
import {
  answerCalls,
  answerText,
  callPieces,
  type GatewayHarness,
  heldAnswer,
  startGatewayHarness,
} from '../testing/gateway-harness.ts';

const developer = devAccount(5).address;
let h: GatewayHarness;
let key: string;
/** What the miners do with the next assignments; tests swap it. */
let behave: (peer: MinerPeer, assign: JobAssign) => void | Promise<void>;
const chatBody = { model: 'test-llm', messages: [{ role: 'user', content: 'Say hello' }] };
/** 1 ms × 512 MiB (the peers' metering, rounded up) = 1 compute unit at 1,000 wei. */
const PRICE = 1_000n;

beforeAll(async () => {
  h = await startGatewayHarness({ suspendMs: 1 });
  key = await h.key(developer);
  behave = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);
  await h.peer(0, (peer, assign) => behave(peer, assign));
  await h.peer(1, (peer, assign) => behave(peer, assign));
});

afterAll(async () => {
  await h?.close();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field and compare them whole
type Json = any;
const json = async (response: Response): Promise<Json> => response.json();

/** Every event of a finished stream, exactly as sent. */
async function frames(response: Response): Promise<string[]> {
  const text = await response.text();
  expect(text.endsWith('\n\n')).toBe(true);
  return text.slice(0, -2).split('\n\n');
}

const payloads = (events: string[]) =>
  events.filter((e) => e !== 'data: [DONE]').map((e) => JSON.parse(e.slice('data: '.length)));

/** Credits the router still holds for the payer's jobs (none once every job has ended). */
const held = (payer: Address) => h.metering.leases.lease(payer)?.held ?? 0n;
/** Stored receipts, once everything metered so far has reached the store. */
async function storedReceipts(filter: ReceiptFilter) {
  await h.metering.flush();
  return h.ledger.receiptsFor(filter);
}

async function settled(check: () => Promise<boolean>) {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

/** Starts a streamed chat, reads its first event and goes away (closes the connection); its id. */
async function walkAwayFromStream(): Promise<string> {
  const controller = new AbortController();
  const response = await post('/v1/chat/completions', { ...chatBody, stream: true }, {}, controller.signal);
  const reader = response.body?.getReader();
  const first = new TextDecoder().decode((await reader?.read())?.value);
  controller.abort();
  return JSON.parse(first.split('\n\n')[0]?.slice('data: '.length) ?? '{}').id as string;
}

/** A miner that streams one piece, then answers the paid cancel with a signed result of that work. */
async function streamThenHandOverWork(peer: MinerPeer, assign: JobAssign): Promise<void> {
  peer.accept(assign);
  peer.chunk(assign, 0, 'Hel');
  await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId && m.partial === true);
  await peer.result(
    assign,
    { text: 'Hel', finishReason: 'cancelled' },
    { usage: { inputTokens: 7, outputTokens: 1 } },
  );
}

describe('chat completions', () => {
  it('answers in OpenAI shape with real usage, and charges the receipt once', async () => {
    const before = (await storedReceipts({ payer: developer })).length;
    const response = await post('/v1/chat/completions', chatBody);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'test-llm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello world', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    });
    const receipts = await storedReceipts({ payer: developer });
    expect(receipts.length).toBe(before + 1);
    expect(held(developer)).toBe(0n);
    const job = await h.jobs.get(body.id);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, usage: { price: PRICE, inputTokens: 7 } });
  });

  it('streams server-sent events exactly as OpenAI: role first, deltas, finish_reason, usage, [DONE]', async () => {
    const response = await post('/v1/chat/completions', {
      ...chatBody,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = await frames(response);
    for (const event of events) expect(event).toMatch(/^data: /);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = payloads(events);
    const id = chunks[0].id;
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({
        id,
        object: 'chat.completion.chunk',
        model: 'test-llm',
        created: expect.any(Number),
      });
    }
    expect(chunks[0].choices).toEqual([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
    ]);
    const deltas = chunks.slice(1, -2);
    expect(deltas.map((c) => c.choices[0].delta.content)).toEqual(['Hel', 'lo', ' world']);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
    expect(chunks.at(-2).choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    });
  });

  it('leaves usage out of the chunks unless asked', async () => {
    const events = await frames(await post('/v1/chat/completions', { ...chatBody, stream: true }));
    const chunks = payloads(events);
    for (const chunk of chunks) expect(chunk).not.toHaveProperty('usage');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    expect(events.at(-1)).toBe('data: [DONE]');
  });

  it('serves the official openai client unchanged, whole and streamed', async () => {
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0 });
    const whole = await client.chat.completions.create({
      model: 'test-llm',
      messages: chatBody.messages as never,
    });
    expect(whole.choices[0]?.message.content).toBe('Hello world');
    expect(whole.usage?.completion_tokens).toBe(3);
    const stream = await client.chat.completions.create({
      model: 'test-llm',
      messages: chatBody.messages as never,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hello world');
    expect(usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    const error = await client.chat.completions
      .create({ model: 'nope', messages: chatBody.messages as never })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.code).toBe('model_not_found');
  });
});

describe('prompt caching', () => {
  /** A node whose pod kept `cached` of the prompt's 7 tokens from an earlier job. */
  const answerCached = (cached: number) => async (peer: MinerPeer, assign: JobAssign) => {
    peer.accept(assign);
    if (assign.stream) peer.chunk(assign, 0, 'Hello world');
    const output =
      assign.kind === 'completion'
        ? { choices: [{ text: 'Hello world', finishReason: 'stop' }], cachedPromptTokens: cached }
        : { text: 'Hello world', finishReason: 'stop', cachedPromptTokens: cached };
    await peer.result(assign, output, { usage: { inputTokens: 7, outputTokens: 2 }, gpuMs: 1 });
  };
  const usage = (cached: number) => ({
    prompt_tokens: 7,
    completion_tokens: 2,
    total_tokens: 9,
    prompt_tokens_details: { cached_tokens: cached },
  });

  it("answers the prompt tokens a node's cache held, whole and streamed, on chat and completions", async () => {
    behave = answerCached(5);
    try {
      const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0 });
      const ask = { model: 'test-llm', messages: chatBody.messages as never };
      const counted = async () => {
        const text = await (await fetch(`${h.url}/metrics`)).text();
        const count = (cached: string) =>
          Number(
            text.match(new RegExp(`neurino_prompt_tokens_total\\{cached="${cached}"\\} (\\d+)`))?.[1] ?? 0,
          );
        return { yes: count('yes'), no: count('no') };
      };
      const before = await counted();
      expect((await client.chat.completions.create(ask)).usage).toEqual(usage(5));
      // Operators see the hits too: of the 7 prompt tokens, 5 cached and 2 evaluated.
      expect(await counted()).toEqual({ yes: before.yes + 5, no: before.no + 2 });
      const stream = await client.chat.completions.create({
        ...ask,
        stream: true,
        stream_options: { include_usage: true },
      });
      let streamed: unknown;
      for await (const chunk of stream) if (chunk.usage) streamed = chunk.usage;
      expect(streamed).toEqual(usage(5));
      const completion = await client.completions.create({ model: 'test-llm', prompt: 'x' });
      expect(completion.usage).toEqual(usage(5));
      // The receipt's input tokens bound what an output may say was cached.
      behave = answerCached(99);
      expect((await client.chat.completions.create(ask)).usage).toEqual(usage(7));
    } finally {
      behave = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);
    }
  });
});

describe('tool calls', () => {
  const call = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
  const second = { id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' };
  const toolBody = {
    ...chatBody,
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
  };
  /** A node whose model says something, then calls get_weather twice in the turn. */
  const callWeather = async (peer: MinerPeer, assign: JobAssign) => {
    peer.accept(assign);
    if (assign.stream) peer.chunk(assign, 0, 'Let me check.');
    const output = { text: 'Let me check.', finishReason: 'tool_calls', toolCalls: [call, second] };
    await peer.result(assign, output, { usage: { inputTokens: 9, outputTokens: 12 }, gpuMs: 1 });
  };

  const openAICalls = [
    { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: call.arguments } },
    { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: second.arguments } },
  ];

  it('answers with the calls in OpenAI shape, whole and streamed, and the official client reads both', async () => {
    behave = callWeather;
    try {
      const whole = await json(await post('/v1/chat/completions', toolBody));
      expect(whole.choices[0]).toEqual({
        index: 0,
        message: {
          role: 'assistant',
          content: 'Let me check.',
          refusal: null,
          tool_calls: openAICalls,
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      });
      expect(whole.usage).toEqual({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });

      const chunks = payloads(
        await frames(await post('/v1/chat/completions', { ...toolBody, stream: true })),
      );
      expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([
        { role: 'assistant', content: '' },
        { content: 'Let me check.' },
        { tool_calls: openAICalls.map((c, index) => ({ index, ...c })) },
        {},
      ]);
      expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');

      const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0 });
      const streamed = await client.chat.completions
        .stream({ ...(toolBody as unknown as OpenAI.ChatCompletionCreateParamsStreaming), stream: true })
        .finalChatCompletion();
      expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
      expect(streamed.choices[0]?.message.tool_calls).toEqual(openAICalls);
    } finally {
      behave = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);
    }
  });

  it('streams each call as the node writes it, and completes from the result what it did not stream', async () => {
    // The second call's arguments are cut short on the stream; a piece of no begun call is dropped.
    const pieces = [
      ...callPieces([call]),
      { index: 1, id: 'call_2', name: 'get_weather', arguments: '{"ci' },
    ];
    behave = (peer, assign) =>
      answerCalls(peer, assign, 'Let me check.', [call, second], [...pieces, { index: 4, arguments: 'x' }]);
    try {
      const chunks = payloads(
        await frames(await post('/v1/chat/completions', { ...toolBody, stream: true })),
      );
      const named = (index: number, args: string) => ({
        tool_calls: [{ index, ...openAICalls[index], function: { name: 'get_weather', arguments: args } }],
      });
      const args = (index: number, text: string) => ({
        tool_calls: [{ index, function: { arguments: text } }],
      });
      expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([
        { role: 'assistant', content: '' },
        { content: 'Let me check.' },
        named(0, ''),
        args(0, '{"city":'),
        args(0, '"Paris"}'),
        named(1, '{"ci'),
        args(1, 'ty":"Rome"}'),
        {},
      ]);

      const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0 });
      const stream = client.chat.completions.stream({
        ...(toolBody as unknown as OpenAI.ChatCompletionCreateParamsStreaming),
        stream: true,
      });
      const done: string[] = [];
      stream.on('tool_calls.function.arguments.done', (event) => done.push(event.arguments));
      const streamed = await stream.finalChatCompletion();
      expect(streamed.choices[0]?.message.tool_calls).toEqual(openAICalls);
      expect(done).toEqual([call.arguments, second.arguments]);
    } finally {
      behave = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);
    }
  });

  it('hands the node the tools, the choice and the conversation with its calls and their results', async () => {
    let input: Json;
    behave = (peer, assign) => {
      input = assign.input;
      return answerText(peer, assign, ['Sunny.']);
    };
    try {
      const response = await post('/v1/chat/completions', {
        ...toolBody,
        tool_choice: 'auto',
        messages: [
          ...chatBody.messages,
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: '20 C' }] },
        ],
      });
      expect(response.status).toBe(200);
      expect(input.tools).toEqual(toolBody.tools);
      expect(input.tool_choice).toBe('auto');
      expect(input.messages.slice(1)).toEqual([
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
          ],
        },
        { role: 'tool', content: '20 C', tool_call_id: 'call_1' },
      ]);
    } finally {
      behave = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);
    }
  });

  it('refuses a call of an unknown shape from a node as bad_result, and charges nothing', async () => {
    behave = async (peer, assign) => {
      peer.accept(assign);
      const output = {
        text: '',
        finishReason: 'tool_calls',
        toolCalls: [{ id: 'c', name: 'no spaces allowed' }],
      };
      await peer.result(assign, output, { usage: { inputTokens: 1, outputTokens: 1 }, gpuMs: 1 });
    };
    try {
      const before = (await storedReceipts({ payer: developer })).length;
      const response = await post('/v1/chat/completions', toolBody);
      expect(response.status).toBe(502);
      expect((await json(response)).error.code).toBe('bad_result');
      expect((await storedReceipts({ payer: developer })).length).toBe(before);
      expect(held(developer)).toBe(0n);
    } finally {
      behave = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);
    }
  });
});

describe('several choices (n)', () => {
  /** A node that answers `count` choices, each its own text, streamed in two pieces when asked. */
  const answerChoices = (count: number) => async (peer: MinerPeer, assign: JobAssign) => {
    peer.accept(assign);
    let seq = 0;
    for (let choice = 0; assign.stream && choice < count; choice++) {
      const extra = choice === 0 ? {} : { choice };
      peer.chunk(assign, seq++, 'answer', extra);
      peer.chunk(assign, seq++, ` ${choice}`, extra);
    }
    const choices = Array.from({ length: count }, (_, i) => ({ text: `answer ${i}`, finishReason: 'stop' }));
    const output = assign.kind === 'chat' ? (count === 1 ? choices[0] : { choices }) : { choices };
    await peer.result(assign, output, { usage: { inputTokens: 5, outputTokens: 2 * count }, gpuMs: 1 });
  };

  it('answers n choices numbered in order, tells the node how many, and charges the one job', async () => {
    let input: Json;
    behave = (peer, assign) => {
      input = assign.input;
      return answerChoices(3)(peer, assign);
    };
    try {
      const before = (await storedReceipts({ payer: developer })).length;
      const body = await json(await post('/v1/chat/completions', { ...chatBody, n: 3 }));
      expect(input.n).toBe(3);
      expect(body.choices.map((c: Json) => [c.index, c.message.content, c.finish_reason])).toEqual([
        [0, 'answer 0', 'stop'],
        [1, 'answer 1', 'stop'],
        [2, 'answer 2', 'stop'],
      ]);
      expect(body.usage).toEqual({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
      expect((await storedReceipts({ payer: developer })).length).toBe(before + 1);

      behave = answerChoices(4);
      const completions = await json(
        await post('/v1/completions', { model: 'test-llm', prompt: ['a', 'b'], n: 2 }),
      );
      expect(completions.choices.map((c: Json) => c.index)).toEqual([0, 1, 2, 3]);
    } finally {
      behave = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);
    }
  });

  it('streams each choice under its index, its role first and its finish last', async () => {
    behave = answerChoices(2);
    try {
      const events = await frames(await post('/v1/chat/completions', { ...chatBody, n: 2, stream: true }));
      const pieces = payloads(events).map((chunk) => {
        const [choice] = chunk.choices;
        return [choice.index, choice.delta.role ?? choice.delta.content ?? choice.finish_reason];
      });
      expect(pieces).toEqual([
        [0, 'assistant'],
        [0, 'answer'],
        [0, ' 0'],
        [1, 'assistant'],
        [1, 'answer'],
        [1, ' 1'],
        [0, 'stop'],
        [1, 'stop'],
      ]);
      expect(events.at(-1)).toBe('data: [DONE]');

      // Several prompts of a completion, n each: prompt by prompt, as the whole answer numbers them.
      behave = answerChoices(4);
      const prompts = await frames(
        await post('/v1/completions', { model: 'test-llm', prompt: ['a', 'b'], n: 2, stream: true }),
      );
      const texts = new Map<number, string>();
      for (const chunk of payloads(prompts)) {
        const [choice] = chunk.choices;
        texts.set(choice.index, (texts.get(choice.index) ?? '') + choice.text);
      }
      expect([...texts]).toEqual([
        [0, 'answer 0'],
        [1, 'answer 1'],
        [2, 'answer 2'],
        [3, 'answer 3'],
      ]);
    } finally {
      behave = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);
    }
  });

  it('refuses a node answering another number of choices', async () => {
    behave = answerChoices(2);
    try {
      const short = await post('/v1/chat/completions', { ...chatBody, n: 3 });
      expect(short.status).toBe(502);
      expect((await json(short)).error.code).toBe('bad_result');
      expect(held(developer)).toBe(0n);
    } finally {
      behave = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);
    }
  });
});

describe('completions and embeddings', () => {
  it('answers and streams text completions', async () => {
    const whole = await json(await post('/v1/completions', { model: 'test-llm', prompt: 'Once' }));
    expect(whole).toMatchObject({
      id: expect.stringMatching(/^cmpl-/),
      object: 'text_completion',
      choices: [{ text: 'Hello world', index: 0, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    });
    const events = await frames(
      await post('/v1/completions', {
        model: 'test-llm',
        prompt: 'Once',
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const chunks = payloads(events);
    expect(chunks.slice(0, 3).map((c) => c.choices[0].text)).toEqual(['Hel', 'lo', ' world']);
    expect(chunks[3].choices[0]).toMatchObject({ text: '', finish_reason: 'stop' });
    expect(chunks[4]).toMatchObject({ object: 'text_completion', choices: [], usage: { total_tokens: 10 } });
    expect(events.at(-1)).toBe('data: [DONE]');
  });

  it('answers embeddings as floats or base64 float32', async () => {
    behave = async (peer, assign) => {
      peer.accept(assign);
      await peer.result(
        assign,
        {
          embeddings: [
            [0.5, -0.25],
            [1, 0],
          ],
        },
        { usage: { inputTokens: 4, outputTokens: 0 } },
      );
    };
    const floats = await json(await post('/v1/embeddings', { model: 'test-llm', input: ['a', 'b'] }));
    expect(floats).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -0.25] },
        { object: 'embedding', index: 1, embedding: [1, 0] },
      ],
      model: 'test-llm',
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
    const base64 = await json(
      await post('/v1/embeddings', { model: 'test-llm', input: ['a', 'b'], encoding_format: 'base64' }),
    );
    expect(embeddingFromBase64(base64.data[0].embedding)).toEqual([0.5, -0.25]);
    behave = async (peer, assign) => {
      peer.accept(assign);
      await peer.result(assign, { embeddings: [[1, 0]] });
    };
    const short = await post('/v1/embeddings', { model: 'test-llm', input: ['a', 'b'] });
    expect(short.status).toBe(502);
    expect((await json(short)).error.code).toBe('bad_result');
  });
});

describe('failures', () => {
  it('retries a failed attempt on the other node and charges once', async () => {
    let calls = 0;
    behave = async (peer, assign) => {
      calls++;
      if (calls === 1) {
        peer.accept(assign);
        peer.fail(assign, 'node_failed', 'CUDA out of memory', true);
        return;
      }
      await answerText(peer, assign, ['ok']);
    };
    const before = (await storedReceipts({ payer: developer })).length;
    const response = await post('/v1/jobs', { pod: 'test-llm', input: chatBody, max_retries: 2 });
    expect(response.status).toBe(200);
    const job = await json(response);
    expect(job).toMatchObject({
      object: 'job',
      status: 'succeeded',
      attempts: 2,
      output: { text: 'ok', finishReason: 'stop' },
      usage: { compute_units: '1', price_wei: PRICE.toString(), input_tokens: 7, output_tokens: 1 },
    });
    expect((await storedReceipts({ payer: developer })).length).toBe(before + 1);
    const attempts = await h.jobs.attempts((await h.jobs.get(job.id))?.jobId ?? '0x');
    expect(attempts.map((a) => a.status).sort()).toEqual(['failed', 'succeeded']);
    expect(new Set(attempts.map((a) => a.node)).size).toBe(2);
    await h.nodesAvailable(2);
  });

  it('answers 504 deadline_exceeded when no answer comes in time, cancels the attempt, charges nothing', async () => {
    const cancelled: Promise<unknown>[] = [];
    behave = (peer, assign) => {
      peer.accept(assign);
      cancelled.push(peer.next('job.cancel', (m) => m.attemptId === assign.attemptId));
    };
    const before = (await storedReceipts({ payer: developer })).length;
    const response = await post('/v1/chat/completions', chatBody, {
      'x-neurino-timeout-ms': '300',
      'x-neurino-max-retries': '0',
    });
    expect(response.status).toBe(504);
    expect((await json(response)).error).toMatchObject({ code: 'deadline_exceeded', type: 'timeout_error' });
    await Promise.all(cancelled);
    expect((await storedReceipts({ payer: developer })).length).toBe(before);
    expect(held(developer)).toBe(0n);
    await h.nodesAvailable(2);
  });

  it('ends a stream that fails after its first event with an error event and no [DONE]', async () => {
    behave = (peer, assign) => {
      peer.accept(assign);
      peer.chunk(assign, 0, 'Hel');
      peer.fail(assign, 'node_failed', 'GPU fell off the bus', true);
    };
    const before = (await storedReceipts({ payer: developer })).length;
    const events = await frames(await post('/v1/chat/completions', { ...chatBody, stream: true }));
    expect(events).not.toContain('data: [DONE]');
    const last = JSON.parse(events.at(-1)?.slice('data: '.length) ?? '{}');
    expect(last).toEqual({ error: expect.objectContaining({ code: 'node_failed', type: 'server_error' }) });
    expect(payloads(events.slice(0, -1)).map((c) => c.choices[0].delta.content)).toEqual(['', 'Hel']);
    expect((await storedReceipts({ payer: developer })).length).toBe(before);
    expect(held(developer)).toBe(0n);
    await h.nodesAvailable(2);
  });

  it('charges the streamed work when the deadline cuts a stream, and says so in the error event', async () => {
    behave = streamThenHandOverWork;
    const response = await post(
      '/v1/chat/completions',
      { ...chatBody, stream: true },
      {
        'x-neurino-timeout-ms': '300',
      },
    );
    const events = await frames(response);
    expect(events).not.toContain('data: [DONE]');
    const last = JSON.parse(events.at(-1)?.slice('data: '.length) ?? '{}');
    expect(last.error).toMatchObject({ code: 'deadline_exceeded', type: 'timeout_error' });
    expect(last.error.message).toMatch(/work done until then is charged/);
    const id = payloads(events.slice(0, -1))[0].id as string;
    await settled(async () => (await h.jobs.get(id))?.status === 'cancelled');
    const logged = await h.jobs.get(id);
    expect(logged?.error?.code).toBe('deadline_exceeded');
    expect(logged?.usage).toMatchObject({ inputTokens: 7, outputTokens: 1 });
    const receipts = await storedReceipts({ jobId: logged?.jobId ?? '0x' });
    expect(receipts).toHaveLength(1);
    expect(receipts[0]?.charged).toBeGreaterThan(0n);
    expect(held(developer)).toBe(0n);
  });

  it('refuses an output of the wrong shape as bad_result and charges nothing', async () => {
    behave = async (peer, assign) => {
      peer.accept(assign);
      await peer.result(assign, { answer: 'not a chat output' });
    };
    const before = (await storedReceipts({ payer: developer })).length;
    const response = await post('/v1/chat/completions', chatBody);
    expect(response.status).toBe(502);
    expect((await json(response)).error.code).toBe('bad_result');
    expect((await storedReceipts({ payer: developer })).length).toBe(before);
    expect(held(developer)).toBe(0n);
  });

  it('cancels the job and frees the reservation when the client goes away mid-stream', async () => {
    const cancelled: Promise<unknown>[] = [];
    behave = (peer, assign) => {
      peer.accept(assign);
      peer.chunk(assign, 0, 'Hel');
      // A runtime that cannot stop partway answers the paid cancel with an error: nothing to charge.
      const cancel = peer.next('job.cancel', (m) => m.attemptId === assign.attemptId && m.partial === true);
      cancelled.push(cancel);
      void cancel.then(() => peer.fail(assign, 'job_cancelled', 'stopped', false));
    };
    const id = await walkAwayFromStream();
    await settled(async () => cancelled.length === 1);
    await Promise.all(cancelled);
    await settled(async () => (await h.jobs.get(id))?.status === 'cancelled');
    expect((await h.jobs.get(id))?.error?.code).toBe('job_cancelled');
    expect(held(developer)).toBe(0n);
    expect(await storedReceipts({ jobId: (await h.jobs.get(id))?.jobId ?? '0x' })).toEqual([]);
  });

  it('charges the work the node had done when the client goes away mid-stream, once', async () => {
    behave = streamThenHandOverWork;
    const id = await walkAwayFromStream();
    await settled(async () => (await h.jobs.get(id))?.status === 'cancelled');
    const logged = await h.jobs.get(id);
    expect(logged?.error?.code).toBe('job_cancelled');
    expect(logged?.usage).toMatchObject({ inputTokens: 7, outputTokens: 1 });
    const receipts = await storedReceipts({ jobId: logged?.jobId ?? '0x' });
    expect(receipts).toHaveLength(1);
    expect(receipts[0]?.charged).toBeGreaterThan(0n);
    expect(receipts[0]?.receipt.outputTokens).toBe(1);
    expect(held(developer)).toBe(0n);
  });

  it('retries on another miner when one dies mid-request, and charges once', async () => {
    let calls = 0;
    let died: MinerPeer | undefined;
    behave = async (peer, assign) => {
      calls++;
      if (calls === 1) {
        peer.accept(assign);
        died = peer;
        peer.terminate();
        return;
      }
      await answerText(peer, assign, ['survived']);
    };
    const before = (await storedReceipts({ payer: developer })).length;
    const response = await post('/v1/chat/completions', chatBody);
    expect(response.status).toBe(200);
    expect((await json(response)).choices[0].message.content).toBe('survived');
    const receipts = await storedReceipts({ payer: developer });
    expect(receipts.length).toBe(before + 1);
    expect(receipts.at(-1)?.receipt.node).not.toBe(died?.node);
    // Bring the dead miner back for the tests that follow.
    const index = died?.node === devAccount(10).address ? 0 : 1;
    await h.peer(index, (peer, assign) => behave(peer, assign));
    await h.nodesAvailable(2);
  });
});

describe('jobs API', () => {
  it('runs an async job: 202 at once, then the result by id', async () => {
    const { serve, onNode, release } = heldAnswer(['later']);
    behave = serve;
    const response = await post('/v1/jobs', { pod: 'test-llm', input: chatBody, mode: 'async' });
    expect(response.status).toBe(202);
    const queued = await json(response);
    expect(queued).toMatchObject({
      id: expect.stringMatching(/^job_/),
      object: 'job',
      pod: 'test-llm',
      status: 'queued',
      attempts: 0,
    });
    expect(response.headers.get('x-neurino-job-id')).toBe(queued.id);
    const get = () => fetch(`${h.url}/v1/jobs/${queued.id}`, { headers: { authorization: `Bearer ${key}` } });
    expect(['queued', 'running']).toContain((await json(await get())).status);
    // On a node: running, its attempt counted; the log has it running too, its attempts written at its end.
    await onNode;
    expect(await json(await get())).toMatchObject({ status: 'running', attempts: 1 });
    await h.metering.flush();
    expect(await h.jobs.get(queued.id)).toMatchObject({ status: 'running', attempts: 0 });
    release();
    await settled(async () => (await json(await get())).status === 'succeeded');
    expect(await json(await get())).toEqual({
      id: queued.id,
      object: 'job',
      pod: 'test-llm',
      status: 'succeeded',
      created: queued.created,
      attempts: 1,
      output: { text: 'later', finishReason: 'stop' },
      usage: { compute_units: '1', price_wei: PRICE.toString(), input_tokens: 7, output_tokens: 1 },
    });
  });

  it("refuses jobs API input that fits none of the pod's kinds", async () => {
    behave = (peer, assign) => answerText(peer, assign, ['x']);
    const response = await post('/v1/jobs', { pod: 'test-llm', input: 'just text' });
    expect(response.status).toBe(400);
    expect((await json(response)).error).toMatchObject({ code: 'invalid_request', param: 'input' });
  });
});

describe('operations under load', () => {
  it('counts attempts, connected nodes and stopped jobs whose work was paid in /metrics', async () => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/neurino_connected_nodes 2/);
    // The earlier tests' stops, paid and free, each under its own outcome.
    for (const outcome of [
      'job_cancelled',
      'job_cancelled_charged',
      'deadline_exceeded',
      'deadline_exceeded_charged',
    ]) {
      expect(text).toMatch(new RegExp(`neurino_jobs_total\\{kind="chat",outcome="${outcome}"\\} [1-9]`));
    }
    expect(text).toMatch(/neurino_job_attempts_total\{outcome="succeeded"\} [1-9]/);
    expect(text).toMatch(/neurino_job_attempts_total\{outcome="failed"\} [1-9]/);
    expect(text).toMatch(/neurino_jobs_in_flight 0/);
  });

  it('drains: refuses new requests with 503, finishes the running one', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    behave = async (peer, assign) => {
      await gate;
      await answerText(peer, assign, ['last']);
    };
    const running = post('/v1/chat/completions', chatBody);
    await settled(async () => h.gateway.runner.inFlight === 1);
    const drained = h.gateway.drain();
    const refused = await post('/v1/chat/completions', chatBody);
    expect(refused.status).toBe(503);
    expect((await json(refused)).error.code).toBe('service_unavailable');
    const health = await fetch(`${h.url}/health`);
    expect(health.status).toBe(503);
    expect((await json(health)).status).toBe('draining');
    release();
    const answer = await running;
    expect(answer.status).toBe(200);
    expect((await json(answer)).choices[0].message.content).toBe('last');
    await drained;
    expect(h.gateway.runner.inFlight).toBe(0);
  });
});
