// Stored responses over real HTTP with a miner speaking the protocol: continuing with
// previous_response_id (the node gets the whole conversation), reading, listing the input items and
// deleting a response with the official client, each for the caller's account only; and what is not kept.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { apiErrorOf } from '../testing/api-error.ts';
import { clientOf, hello, type MinerBehaviour, startClientHarness } from '../testing/client-harness.ts';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(6).address;
const stranger = devAccount(7).address;
let h: GatewayHarness;
let client: OpenAI;
let strangers: OpenAI;
let key: string;
// biome-ignore lint/suspicious/noExplicitAny: tests read the node's input field by field
let inputs: any[] = [];
let behave: MinerBehaviour = hello;

beforeAll(async () => {
  ({ h, client, key } = await startClientHarness(developer, (peer, assign) => {
    inputs.push(assign.input);
    return behave(peer, assign);
  }));
  strangers = await clientOf(h, stranger);
});

afterAll(async () => {
  await h?.close();
});

const weather = {
  type: 'function' as const,
  name: 'get_weather',
  parameters: { type: 'object' },
  strict: false,
};
const call = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };

async function callWeather(peer: MinerPeer, assign: JobAssign) {
  peer.accept(assign);
  const output = { text: '', finishReason: 'tool_calls', toolCalls: [call] };
  await peer.result(assign, output, { usage: { inputTokens: 9, outputTokens: 12 }, gpuMs: 1 });
}

/** OpenAI's answers say whether they are kept; the SDK's type leaves `store` out. */
const storeOf = (response: object) => (response as { store?: boolean }).store;

function get(path: string, apiKey = key) {
  return fetch(`${h.url}/v1${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
}

describe('stored responses', () => {
  it('continues a stored response: the node gets its conversation and answer, not its instructions', async () => {
    const first = await client.responses.create({
      model: 'test-llm',
      instructions: 'Be brief.',
      input: 'Say hello',
    });
    expect(storeOf(first)).toBe(true);
    inputs = [];
    const second = await client.responses.create({
      model: 'test-llm',
      previous_response_id: first.id,
      input: 'And again?',
    });
    expect(inputs[0].messages).toEqual([
      { role: 'user', content: 'Say hello' },
      { role: 'assistant', content: 'Hello world' },
      { role: 'user', content: 'And again?' },
    ]);
    expect(second.previous_response_id).toBe(first.id);
    expect(second.instructions).toBeNull();

    inputs = [];
    await client.responses.create({
      model: 'test-llm',
      previous_response_id: second.id,
      input: 'Once more.',
    });
    expect(inputs[0].messages.map((m: { content: string }) => m.content)).toEqual([
      'Say hello',
      'Hello world',
      'And again?',
      'Hello world',
      'Once more.',
    ]);
  });

  it('answers a function call, then its output sent with previous_response_id alone', async () => {
    behave = callWeather;
    const asked = await client.responses.create({
      model: 'test-llm',
      input: 'Weather in Paris?',
      tools: [weather],
    });
    behave = hello;
    expect(asked.output).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_1' })]);
    inputs = [];
    const answered = await client.responses.create({
      model: 'test-llm',
      previous_response_id: asked.id,
      input: [{ type: 'function_call_output', call_id: 'call_1', output: '18 C' }],
      tools: [weather],
    });
    expect(answered.output_text).toBe('Hello world');
    expect(inputs[0].messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      // The pod's input carries no null content: a call alone comes with empty text.
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: call.name, arguments: call.arguments } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18 C' },
    ]);
    // An output answering no call of the conversation is refused, naming the item.
    const stray = client.responses.create({
      model: 'test-llm',
      previous_response_id: asked.id,
      input: [{ type: 'function_call_output', call_id: 'call_9', output: 'x' }],
    });
    expect(await apiErrorOf(stray)).toEqual({
      status: 400,
      code: 'invalid_request',
      param: 'input[0].call_id',
    });
  });

  it("refuses a continuation past 4,095 items, or leaves out its oldest with truncation 'auto'", async () => {
    const said = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => ({ role: 'user' as const, content: `${prefix}${i}` }));
    // Kept with its answer: 4,001 items.
    const first = await client.responses.create({ model: 'test-llm', input: said('m', 4_000) });
    const more = { model: 'test-llm', input: said('n', 100), previous_response_id: first.id };
    expect(await apiErrorOf(client.responses.create(more))).toMatchObject({
      status: 400,
      param: 'previous_response_id',
    });
    inputs = [];
    const cut = await client.responses.create({ ...more, truncation: 'auto' });
    expect(cut.truncation).toBe('auto');
    const [input] = inputs;
    expect(input.truncation).toBe('auto');
    expect(input.messages).toHaveLength(4_095);
    expect(input.messages[0].content).toBe('m6');
    expect(input.messages.at(-1).content).toBe('n99');
  });

  it('reads a response back as it was answered, whole or streamed', async () => {
    const whole = await client.responses.create({
      model: 'test-llm',
      input: 'Say hello',
      metadata: { a: 'b' },
    });
    const { output_text: _, ...retrieved } = await client.responses.retrieve(whole.id);
    const { output_text: __, ...answered } = whole;
    expect(retrieved).toEqual(answered);

    const streamed = await client.responses.stream({ model: 'test-llm', input: 'Say hello' }).finalResponse();
    // Kept before its last event: read back at once.
    expect((await client.responses.retrieve(streamed.id)).output_text).toBe('Hello world');
    expect((await client.responses.retrieve(streamed.id)).usage).toEqual(streamed.usage);
  });

  it('lists the input items a response answered, newest first by default, in pages', async () => {
    const first = await client.responses.create({ model: 'test-llm', input: 'One' });
    const second = await client.responses.create({
      model: 'test-llm',
      previous_response_id: first.id,
      input: [
        { role: 'user', content: 'Two' },
        { role: 'developer', content: 'Three' },
      ],
    });
    const page = await client.responses.inputItems.list(second.id);
    const texts = (items: typeof page.data) =>
      items.map((item) =>
        item.type === 'message' ? item.content.map((p) => ('text' in p ? p.text : '')) : [],
      );
    expect(texts(page.data)).toEqual([['Three'], ['Two'], ['Hello world'], ['One']]);
    expect(page.data[2]).toEqual(first.output[0]);
    const all = [];
    for await (const item of client.responses.inputItems.list(second.id, { limit: 1, order: 'asc' }))
      all.push(item);
    expect(texts(all)).toEqual([['One'], ['Hello world'], ['Two'], ['Three']]);

    const asc = await (await get(`/responses/${second.id}/input_items?order=asc&limit=2`)).json();
    expect(asc).toMatchObject({ object: 'list', has_more: true, first_id: all[0]?.id, last_id: all[1]?.id });
    const rest = await (
      await get(`/responses/${second.id}/input_items?order=asc&after=${all[1]?.id}`)
    ).json();
    expect(rest).toMatchObject({ has_more: false, first_id: all[2]?.id, last_id: all[3]?.id });
    const before = (await (
      await get(`/responses/${second.id}/input_items?order=asc&before=${all[2]?.id}`)
    ).json()) as { data: Array<{ id: string }> };
    expect(before.data.map((item) => item.id)).toEqual([all[0]?.id, all[1]?.id]);
  });

  it('refuses a bad listing or retrieval by name', async () => {
    const response = await client.responses.create({ model: 'test-llm', input: 'One' });
    for (const [query, status, code, param] of [
      ['?after=msg_nope', 400, 'invalid_request', 'after'],
      ['?limit=0', 400, 'invalid_request', 'limit'],
      ['?order=sideways', 400, 'invalid_request', 'order'],
      ['?color=red', 400, 'invalid_request', null],
    ] as const) {
      const answer = await get(`/responses/${response.id}/input_items${query}`);
      const body = (await answer.json()) as { error: { code: string; param: string | null } };
      expect({ status: answer.status, code: body.error.code }, query).toEqual({ status, code });
      if (param !== null) expect(body.error.param).toBe(param);
    }
    const again = await get(`/responses/${response.id}?stream=true`);
    expect(again.status).toBe(400);
    // Only a background response created with stream: true streams again.
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    expect((await get(`/responses/${response.id}?include[]=message.output_text.logprobs`)).status).toBe(200);
  });

  it("answers another account's response as missing, everywhere", async () => {
    const mine = await client.responses.create({ model: 'test-llm', input: 'Mine' });
    const missing = { status: 404, code: 'response_not_found' };
    expect(await apiErrorOf(strangers.responses.retrieve(mine.id))).toMatchObject(missing);
    expect(await apiErrorOf(strangers.responses.delete(mine.id))).toMatchObject(missing);
    expect(await apiErrorOf(strangers.responses.inputItems.list(mine.id))).toMatchObject(missing);
    const continued = strangers.responses.create({
      model: 'test-llm',
      previous_response_id: mine.id,
      input: 'x',
    });
    expect(await apiErrorOf(continued)).toEqual({ ...missing, param: 'previous_response_id' });
    expect((await client.responses.retrieve(mine.id)).id).toBe(mine.id);
  });

  it('deletes a response once; it is gone for reading and continuing', async () => {
    const response = await client.responses.create({ model: 'test-llm', input: 'Forget me' });
    const later = await client.responses.create({
      model: 'test-llm',
      previous_response_id: response.id,
      input: 'Then this',
    });
    const deleted = await fetch(`${h.url}/v1/responses/${response.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(await deleted.json()).toEqual({ id: response.id, object: 'response', deleted: true });
    expect(await apiErrorOf(client.responses.delete(response.id))).toMatchObject({ status: 404 });
    expect(await apiErrorOf(client.responses.retrieve(response.id))).toMatchObject({
      code: 'response_not_found',
    });
    const continued = client.responses.create({
      model: 'test-llm',
      previous_response_id: response.id,
      input: 'x',
    });
    expect(await apiErrorOf(continued)).toMatchObject({ status: 404, param: 'previous_response_id' });
    // The one that continued it kept its own copy of the conversation.
    inputs = [];
    await client.responses.create({ model: 'test-llm', previous_response_id: later.id, input: 'And now' });
    expect(inputs[0].messages.map((m: { content: string }) => m.content)).toEqual([
      'Forget me',
      'Hello world',
      'Then this',
      'Hello world',
      'And now',
    ]);
  });

  it('answers a response it could not keep, saying so (store: false), whole and streamed', async () => {
    // The store refuses the write: the paid answer still reaches the client, marked as not kept.
    await h.store.query('alter table responses rename to responses_away');
    try {
      const whole = await client.responses.create({ model: 'test-llm', input: 'x' });
      expect(whole.output_text).toBe('Hello world');
      expect(storeOf(whole)).toBe(false);
      const streamed = await client.responses.stream({ model: 'test-llm', input: 'x' }).finalResponse();
      expect(storeOf(streamed)).toBe(false);
    } finally {
      await h.store.query('alter table responses_away rename to responses');
    }
  });

  it('keeps nothing with store: false; a stream that fails after its id was sent is kept as failed', async () => {
    const unkept = await client.responses.create({ model: 'test-llm', input: 'x', store: false });
    expect(storeOf(unkept)).toBe(false);
    expect(await apiErrorOf(client.responses.retrieve(unkept.id))).toMatchObject({ status: 404 });

    behave = (peer, assign) => {
      peer.accept(assign);
      peer.chunk(assign, 0, 'Hel');
      peer.fail(assign, 'node_failed', 'GPU fell off the bus', true);
    };
    let id = '';
    const stream = await client.responses.create({ model: 'test-llm', input: 'x', stream: true });
    await (async () => {
      for await (const event of stream) if (event.type === 'response.created') id = event.response.id;
    })().catch(() => {});
    behave = hello;
    expect(id).toMatch(/^resp_/);
    // As a background one: failed, with its error and the text sent before the failure, not charged.
    const failed = await client.responses.retrieve(id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'node_failed' } });
    expect(failed.usage ?? null).toBeNull();
    expect(failed.output).toMatchObject([{ type: 'message', status: 'incomplete' }]);
    expect(failed.output_text).toBe('Hel');
    await h.nodesAvailable(1);
  });

  it('keeps none on a router told to keep none: store false, no continuation, no stored-response routes', async () => {
    const none = await startGatewayHarness({ responseRetentionMs: 0 });
    try {
      const noneKey = await none.key(developer);
      const noneClient = new OpenAI({ baseURL: `${none.url}/v1`, apiKey: noneKey, maxRetries: 0 });
      await none.peer(0, hello);
      const response = await noneClient.responses.create({ model: 'test-llm', input: 'x' });
      expect(storeOf(response)).toBe(false);
      const continued = noneClient.responses.create({
        model: 'test-llm',
        previous_response_id: response.id,
        input: 'x',
      });
      expect(await apiErrorOf(continued)).toEqual({
        status: 400,
        code: 'unsupported_parameter',
        param: 'previous_response_id',
      });
      expect(await apiErrorOf(noneClient.responses.retrieve(response.id))).toMatchObject({
        status: 404,
        code: 'route_not_found',
      });
      const background = noneClient.responses.create({ model: 'test-llm', input: 'x', background: true });
      expect(await apiErrorOf(background)).toEqual({
        status: 400,
        code: 'unsupported_parameter',
        param: 'background',
      });
    } finally {
      await none.close();
    }
  });
});
