// POST /v1/responses over real HTTP with miners speaking the protocol: the Responses API's objects and
// event streams in OpenAI's shapes, read by the official client, the conversation a node receives, and
// the refusals.
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { hello, type MinerBehaviour, startClientHarness } from '../testing/client-harness.ts';
import { answerCalls, answerText } from '../testing/gateway-harness.ts';

const developer = devAccount(6).address;
let behave: MinerBehaviour = hello;
const { h, client, key } = await startClientHarness(developer, (peer, assign) => behave(peer, assign));
afterAll(() => h.close());

// biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
type Json = any;

function post(body: unknown) {
  return fetch(`${h.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const weather = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
  strict: false,
};
const call = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
const second = { id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' };

/** A node whose model says a little, then calls get_weather twice in the turn. */
async function callWeather(peer: MinerPeer, assign: JobAssign) {
  peer.accept(assign);
  if (assign.stream) peer.chunk(assign, 0, 'Checking.');
  const output = { text: 'Checking.', finishReason: 'tool_calls', toolCalls: [call, second] };
  await peer.result(assign, output, { usage: { inputTokens: 9, outputTokens: 12 }, gpuMs: 1 });
}

async function withBehaviour<T>(next: typeof behave, run: () => Promise<T>): Promise<T> {
  behave = next;
  try {
    return await run();
  } finally {
    behave = hello;
  }
}

describe('POST /v1/responses', () => {
  it('answers a response object the official client reads, with usage and the request echoed', async () => {
    const response = await client.responses.create({
      model: 'test-llm',
      instructions: 'Be brief.',
      input: 'Say hello',
      max_output_tokens: 50,
      temperature: 0.5,
      metadata: { team: 'a' },
    });
    expect(response.id).toMatch(/^resp_[0-9A-Za-z]{24}$/);
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      error: null,
      incomplete_details: null,
      instructions: 'Be brief.',
      max_output_tokens: 50,
      temperature: 0.5,
      metadata: { team: 'a' },
      model: 'test-llm',
      tool_choice: 'auto',
      tools: [],
      text: { format: { type: 'text' } },
      usage: { input_tokens: 7, output_tokens: 3, total_tokens: 10 },
    });
    expect(response.output).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Hello world', annotations: [] }],
      },
    ]);
    expect(response.output_text).toBe('Hello world');
  });

  it('hands the node the conversation: instructions, messages, calls and their outputs, tools and format', async () => {
    let input: Json;
    await withBehaviour(
      (peer, assign) => {
        input = assign.input;
        return answerText(peer, assign, ['Sunny.']);
      },
      () =>
        client.responses.create({
          model: 'test-llm',
          instructions: 'Be brief.',
          input: [
            { role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
            {
              type: 'message',
              id: 'msg_1',
              status: 'completed',
              role: 'assistant',
              content: [{ type: 'output_text', text: 'Checking.', annotations: [] }],
            },
            { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
            { type: 'function_call_output', call_id: 'call_1', output: '{"celsius":20}' },
          ],
          tools: [weather],
          tool_choice: 'auto',
          text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
        }),
    );
    expect(input.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', content: '{"celsius":20}', tool_call_id: 'call_1' },
    ]);
    expect(input.tools).toEqual([
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather of a city', parameters: weather.parameters },
      },
    ]);
    expect(input.tool_choice).toBe('auto');
    expect(input.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'answer' } });
  });

  it('answers calls as function_call items, whole and streamed, and the client assembles the stream', async () => {
    await withBehaviour(callWeather, async () => {
      const whole = await client.responses.create({ model: 'test-llm', input: 'Weather?', tools: [weather] });
      expect(whole.status).toBe('completed');
      expect(whole.output.map((item) => item.type)).toEqual(['message', 'function_call', 'function_call']);
      expect(whole.output.slice(1)).toEqual(
        [call, second].map((c) => ({
          id: expect.stringMatching(/^fc_/),
          type: 'function_call',
          call_id: c.id,
          name: 'get_weather',
          arguments: c.arguments,
          status: 'completed',
        })),
      );

      const stream = client.responses.stream({ model: 'test-llm', input: 'Weather?', tools: [weather] });
      const types: string[] = [];
      stream.on('event', (event) => types.push(event.type));
      const final = await stream.finalResponse();
      expect(types).toEqual(
        [
          'response.created',
          'response.in_progress',
          'response.output_item.added',
          'response.content_part.added',
          'response.output_text.delta',
          'response.output_text.done',
          'response.content_part.done',
          'response.output_item.done',
          ...Array(2).fill([
            'response.output_item.added',
            'response.function_call_arguments.delta',
            'response.function_call_arguments.done',
            'response.output_item.done',
          ]),
          'response.completed',
        ].flat(),
      );
      expect(final.output_text).toBe('Checking.');
      expect(final.output.slice(1)).toMatchObject([
        { type: 'function_call', call_id: 'call_1', arguments: call.arguments },
        { type: 'function_call', call_id: 'call_2', arguments: second.arguments },
      ]);
      expect(final.usage?.total_tokens).toBe(21);
    });
  });

  it('streams each call as the node writes it: one item after another, its arguments in deltas', async () => {
    const streamCalls = (peer: MinerPeer, assign: JobAssign) =>
      answerCalls(peer, assign, 'Checking.', [call, second]);
    await withBehaviour(streamCalls, async () => {
      const stream = client.responses.stream({ model: 'test-llm', input: 'Weather?', tools: [weather] });
      const seen: string[] = [];
      stream.on('event', (event) => {
        if (event.type === 'response.function_call_arguments.delta') seen.push(`delta ${event.delta}`);
        else if (event.type === 'response.function_call_arguments.done') seen.push(`done ${event.arguments}`);
        else if (event.type === 'response.output_item.added' || event.type === 'response.output_item.done') {
          seen.push(`${event.type} ${event.output_index}`);
        }
      });
      const final = await stream.finalResponse();
      const item = (index: number, [head, tail]: string[]) => [
        `response.output_item.added ${index}`,
        `delta ${head}`,
        `delta ${tail}`,
        `done ${head}${tail}`,
        `response.output_item.done ${index}`,
      ];
      expect(seen).toEqual([
        'response.output_item.added 0',
        'response.output_item.done 0',
        ...item(1, ['{"city":', '"Paris"}']),
        ...item(2, ['{"city":', '"Rome"}']),
      ]);
      expect(final.output.map((o) => o.type)).toEqual(['message', 'function_call', 'function_call']);
      expect(final.output.slice(1)).toMatchObject([
        { call_id: 'call_1', arguments: call.arguments, status: 'completed' },
        { call_id: 'call_2', arguments: second.arguments, status: 'completed' },
      ]);
    });
  });

  it("answers the input tokens a node's cache held, whole, streamed and in the background", async () => {
    const cachedFive = async (peer: MinerPeer, assign: JobAssign) => {
      peer.accept(assign);
      if (assign.stream) peer.chunk(assign, 0, 'Hi.');
      const output = { text: 'Hi.', finishReason: 'stop', cachedPromptTokens: 5 };
      await peer.result(assign, output, { usage: { inputTokens: 7, outputTokens: 2 }, gpuMs: 1 });
    };
    await withBehaviour(cachedFive, async () => {
      const ask = { model: 'test-llm', input: 'Hi' };
      const whole = await client.responses.create(ask);
      expect(whole.usage?.input_tokens_details.cached_tokens).toBe(5);
      const streamed = await client.responses.stream(ask).finalResponse();
      expect(streamed.usage?.input_tokens_details.cached_tokens).toBe(5);
      let read = await client.responses.create({ ...ask, background: true });
      while (read.status === 'queued' || read.status === 'in_progress') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        read = await client.responses.retrieve(read.id);
      }
      expect(read.usage?.input_tokens_details.cached_tokens).toBe(5);
    });
    const plain = await client.responses.create({ model: 'test-llm', input: 'Hi' });
    expect(plain.usage?.input_tokens_details.cached_tokens).toBe(0);
  });

  it('streams events named by their type, numbered in order, with no [DONE]', async () => {
    const response = await post({ model: 'test-llm', input: 'Say hello', stream: true });
    const text = await response.text();
    const events = text.trim().split('\n\n');
    const parsed = events.map((event) => {
      const [name, data] = event.split('\n');
      const payload = JSON.parse(data?.slice('data: '.length) ?? '{}');
      expect(name).toBe(`event: ${payload.type}`);
      return payload;
    });
    expect(parsed.map((e) => e.sequence_number)).toEqual(parsed.map((_, i) => i));
    expect(parsed.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta)).toEqual([
      'Hel',
      'lo',
      ' world',
    ]);
    expect(parsed.at(-1)).toMatchObject({ type: 'response.completed', response: { status: 'completed' } });
    expect(text).not.toContain('[DONE]');
  });

  it('says a response cut by max_output_tokens is incomplete, whole and streamed', async () => {
    const cut = async (peer: MinerPeer, assign: JobAssign) => {
      peer.accept(assign);
      if (assign.stream) peer.chunk(assign, 0, 'Hel');
      await peer.result(
        assign,
        { text: 'Hel', finishReason: 'length' },
        { usage: { inputTokens: 7, outputTokens: 1 }, gpuMs: 1 },
      );
    };
    await withBehaviour(cut, async () => {
      const whole = await client.responses.create({ model: 'test-llm', input: 'x', max_output_tokens: 16 });
      expect(whole).toMatchObject({
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
      });
      expect(whole.output[0]).toMatchObject({ status: 'incomplete' });
      const final = await client.responses
        .stream({ model: 'test-llm', input: 'x', max_output_tokens: 16 })
        .finalResponse();
      expect(final.status).toBe('incomplete');
    });
  });

  it('refuses what it cannot do with OpenAI-style errors naming the field', async () => {
    const asks: Array<[Record<string, unknown>, number, string, string]> = [
      [{ input: 'x', previous_response_id: 'resp_1' }, 404, 'response_not_found', 'previous_response_id'],
      [{ input: 'x', conversation: 'conv_1' }, 404, 'conversation_not_found', 'conversation'],
      [{ input: 'x', tools: [{ type: 'web_search' }] }, 400, 'invalid_request', 'tools[0].type'],
      [{ input: [{ type: 'reasoning', summary: [] }] }, 400, 'invalid_request', 'input[0].type'],
      [
        { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] },
        400,
        'invalid_request',
        'input[0].content[0].type',
      ],
      [
        { input: [{ type: 'function_call_output', call_id: 'c', output: 'x' }] },
        400,
        'invalid_request',
        'input[0].call_id',
      ],
      [{ input: 'x', tool_choice: 'required' }, 400, 'invalid_request', 'tool_choice'],
      [{ input: 'x', top_logprobs: 21 }, 400, 'invalid_request', 'top_logprobs'],
      [{ input: 'x', model: 'nope' }, 404, 'model_not_found', 'model'],
      [{}, 400, 'invalid_request', 'input'],
    ];
    for (const [extra, status, code, param] of asks) {
      const response = await post({ model: 'test-llm', ...extra });
      const body = (await response.json()) as Json;
      expect(
        { status: response.status, code: body.error.code, param: body.error.param },
        JSON.stringify(extra),
      ).toEqual({
        status,
        code,
        param,
      });
    }
  });

  it('ends a stream that fails after its first event with response.failed and an error event the client throws, and charges nothing', async () => {
    const fail = (peer: MinerPeer, assign: JobAssign) => {
      peer.accept(assign);
      peer.chunk(assign, 0, 'Hel');
      peer.fail(assign, 'node_failed', 'GPU fell off the bus', true);
    };
    await withBehaviour(fail, async () => {
      const text = await (await post({ model: 'test-llm', input: 'x', stream: true })).text();
      const frames = text.trim().split('\n\n');
      const last = frames.at(-1) ?? '';
      // The item opened is done (incomplete), then the response fails, then the error event.
      expect(frames.slice(-6).map((frame) => frame.split('\n')[0])).toEqual([
        'event: response.output_text.delta',
        'event: response.output_text.done',
        'event: response.content_part.done',
        'event: response.output_item.done',
        'event: response.failed',
        'event: error',
      ]);
      const failed = JSON.parse(frames.at(-2)?.split('\n')[1]?.slice('data: '.length) ?? '{}');
      expect(failed.response).toMatchObject({ status: 'failed', error: { code: 'node_failed' } });
      expect(failed.response.output).toMatchObject([{ status: 'incomplete', content: [{ text: 'Hel' }] }]);
      expect(last.split('\n')[0]).toBe('event: error');
      expect(JSON.parse(last.split('\n')[1]?.slice('data: '.length) ?? '{}')).toMatchObject({
        type: 'error',
        code: 'node_failed',
        param: null,
        error: { code: 'node_failed', type: 'server_error' },
      });
      const stream = await client.responses.create({ model: 'test-llm', input: 'x', stream: true });
      const seen: string[] = [];
      const thrown = await (async () => {
        for await (const event of stream) seen.push(event.type);
      })().catch((e) => e);
      expect(thrown).toBeInstanceOf(OpenAI.APIError);
      expect(seen).toContain('response.output_text.delta');
      expect(seen.at(-1)).toBe('response.failed');
      expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
    });
    await h.nodesAvailable(1);
  });

  it("keeps the node's receipt under the response's id", async () => {
    const response = await client.responses.create({ model: 'test-llm', input: 'Say hello' });
    const receipt = await fetch(`${h.url}/v1/receipts/${response.id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(receipt.status).toBe(200);
    expect(((await receipt.json()) as Json).receipt.payer.toLowerCase()).toBe(developer.toLowerCase());
  });
});
