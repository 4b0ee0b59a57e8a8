// Streamed background responses over real HTTP with a miner speaking the protocol: the events as they
// come, kept with the response's end and streamed again by GET /v1/responses/:id?stream=true (whole, or
// after any event; followed live while it runs here, waited for while another router runs it); a client
// that leaves does not stop it; failed and cancelled ones end with response.failed; the `in_progress`
// step of one not streamed; what cannot be streamed again is refused.
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { ResponseArchive } from '../../orchestration/responses/response-archive.ts';
import { responseFixture } from '../../orchestration/responses/testing/response-fixture.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import type { ResponseObject, ResponseObjectStatus } from '../../protocol/openai-responses-api-output.ts';
import { apiErrorOf } from '../testing/api-error.ts';
import { hello, type MinerBehaviour, startClientHarness } from '../testing/client-harness.ts';
import { answerCalls, heldAnswer, startGatewayHarness } from '../testing/gateway-harness.ts';
import { LOST_ROUTER_GRACE_MS } from './routes/background-response.ts';

const developer = devAccount(7).address;
let behave: MinerBehaviour = hello;
const { h, client, key } = await startClientHarness(developer, (peer, assign) => behave(peer, assign));
afterAll(() => h.close());

async function all(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const streamed = (input = 'Say hello') =>
  client.responses.create({ model: 'test-llm', input, background: true, stream: true });
const again = (id: string, startingAfter?: number) =>
  client.responses.retrieve(id, {
    stream: true,
    ...(startingAfter === undefined ? {} : { starting_after: startingAfter }),
  });
const deltas = (events: readonly ResponseStreamEvent[]) =>
  events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');

/** A miner that streams the first piece, waits for `release()`, then the rest. */
function pausedAfterFirst(pieces: string[]) {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const serve = async (peer: MinerPeer, assign: JobAssign) => {
    peer.accept(assign);
    peer.chunk(assign, 0, pieces[0] ?? '');
    await gate;
    for (const [i, piece] of pieces.slice(1).entries()) peer.chunk(assign, i + 1, piece);
    await peer.result(assign, { text: pieces.join(''), finishReason: 'stop' }, { gpuMs: 1 });
  };
  return { serve, release };
}

describe('streamed background responses', () => {
  it('streams as it runs, is kept with its events, and streams again whole or after any event', async () => {
    const events = await all(await streamed());
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const [created, , , , , , , , , , completed] = events;
    expect(created).toMatchObject({ response: { status: 'queued', background: true } });
    expect(deltas(events)).toBe('Hello world');
    if (completed?.type !== 'response.completed') throw new Error('no completed event');
    const { id } = completed.response;

    const kept = await client.responses.retrieve(id);
    expect(kept).toMatchObject({ status: 'completed', output: completed.response.output });
    expect(kept.output_text).toBe('Hello world');
    expect(await all(await again(id))).toEqual(events);
    expect(await all(await again(id, 4))).toEqual(events.slice(5));
    expect(await all(await again(id, 10))).toEqual([]);
    // The SDK's own helper resumes a response by id (it reads from the start and skips what it saw).
    const resumed = await client.responses.stream({ response_id: id, starting_after: 6 }).finalResponse();
    expect(resumed.output_text).toBe('Hello world');
  });

  it("streams a call's pieces as the node writes them, kept and streamed again as they came", async () => {
    const call = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
    behave = (peer, assign) => answerCalls(peer, assign, '', [call]);
    try {
      const events = await all(
        await client.responses.create({
          model: 'test-llm',
          input: 'Weather?',
          tools: [{ type: 'function', name: 'get_weather', parameters: null, strict: false }],
          background: true,
          stream: true,
        }),
      );
      const args = events.flatMap((e) =>
        e.type === 'response.function_call_arguments.delta' ? [e.delta] : [],
      );
      expect(args).toEqual(['{"city":', '"Paris"}']);
      const completed = events.at(-1);
      if (completed?.type !== 'response.completed') throw new Error('no completed event');
      expect(completed.response.output).toMatchObject([{ type: 'function_call', arguments: call.arguments }]);
      expect(await all(await again(completed.response.id))).toEqual(events);
    } finally {
      behave = hello;
    }
  });

  it('goes on when its client leaves, and a reader following it live gets the rest', async () => {
    const paused = pausedAfterFirst(['Hel', 'lo', ' world']);
    behave = paused.serve;
    try {
      const first: ResponseStreamEvent[] = [];
      for await (const event of await streamed()) {
        first.push(event);
        if (event.type === 'response.output_text.delta') break;
      }
      const id = (first[0] as { response: { id: string } }).response.id;
      const seen = first.at(-1)?.sequence_number ?? -1;
      // The reader's stream is open before the job goes on, so it follows the log live.
      const rest = await again(id, seen);
      paused.release();
      const events = await all(rest);
      expect(events[0]?.sequence_number).toBe(seen + 1);
      expect(deltas(first) + deltas(events)).toBe('Hello world');
      expect(events.at(-1)).toMatchObject({ type: 'response.completed', response: { status: 'completed' } });
      expect((await client.responses.retrieve(id)).output_text).toBe('Hello world');
      const receipt = await fetch(`${h.url}/v1/receipts/${id}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(receipt.status).toBe(200);
    } finally {
      behave = hello;
    }
  });

  it('ends a failed one with response.failed and charges nothing; a cancelled one ends so too', async () => {
    behave = (peer, assign) => peer.fail(assign, 'invalid_request', 'the pod refused the prompt', false);
    try {
      const events = await all(await streamed());
      const last = events.at(-1);
      expect(last).toMatchObject({
        type: 'response.failed',
        response: { status: 'failed', error: { code: 'invalid_request' } },
      });
      const id = (last as { response: { id: string } }).response.id;
      expect(await all(await again(id))).toEqual(events);
      expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
    } finally {
      behave = hello;
    }

    // Failed after some text: the message item it opened is done, incomplete, before response.failed.
    behave = (peer, assign) => {
      peer.accept(assign);
      peer.chunk(assign, 0, 'Hel');
      peer.fail(assign, 'node_failed', 'GPU fell off the bus', true);
    };
    try {
      const events = await all(await streamed());
      expect(events.slice(-4).map((event) => event.type)).toEqual([
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.failed',
      ]);
      expect(events.at(-1)).toMatchObject({
        response: { status: 'failed', output: [{ status: 'incomplete', content: [{ text: 'Hel' }] }] },
      });
    } finally {
      behave = hello;
    }

    behave = async (peer, assign) => {
      peer.accept(assign);
      await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId);
      peer.fail(assign, 'job_cancelled', 'stopped before any output', false);
    };
    try {
      const events: ResponseStreamEvent[] = [];
      for await (const event of await streamed()) {
        events.push(event);
        if (event.type !== 'response.in_progress') continue;
        const cancelled = await fetch(`${h.url}/v1/responses/${event.response.id}/cancel`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
        });
        expect(await cancelled.json()).toMatchObject({ status: 'cancelled' });
      }
      expect(events.at(-1)).toMatchObject({ type: 'response.failed', response: { status: 'cancelled' } });
    } finally {
      behave = hello;
    }
  });

  it('shows the work a cancelled one was charged for: its text so far and its usage, whole or streamed', async () => {
    behave = async (peer, assign) => {
      peer.accept(assign);
      if (assign.stream) peer.chunk(assign, 0, 'Hel');
      await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId && m.partial === true);
      await peer.result(
        assign,
        { text: 'Hel', finishReason: 'cancelled', cachedPromptTokens: 4 },
        { usage: { inputTokens: 7, outputTokens: 1 }, gpuMs: 1 },
      );
    };
    const cancel = (id: string) =>
      fetch(`${h.url}/v1/responses/${id}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
      });
    const charged = {
      status: 'cancelled',
      error: { code: 'job_cancelled' },
      output: [{ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'Hel' }] }],
      // Of the prompt, what the node's cache held, as its partial output says.
      usage: { input_tokens: 7, output_tokens: 1, input_tokens_details: { cached_tokens: 4 } },
    };
    try {
      const events: ResponseStreamEvent[] = [];
      for await (const event of await streamed()) {
        events.push(event);
        if (event.type === 'response.output_text.delta')
          await cancel(events[0] ? (events[0] as { response: { id: string } }).response.id : '');
      }
      const last = events.at(-1);
      expect(last).toMatchObject({ type: 'response.failed', response: charged });
      expect(deltas(events)).toBe('Hel');
      const id = (last as { response: { id: string } }).response.id;
      expect(await client.responses.retrieve(id)).toMatchObject(charged);

      const held = client.responses.create({ model: 'test-llm', input: 'x', background: true });
      const queued = await held;
      let status = queued.status;
      for (let i = 0; i < 100 && status === 'queued'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        status = (await client.responses.retrieve(queued.id)).status;
      }
      expect(await (await cancel(queued.id)).json()).toMatchObject(charged);
      const receipt = await fetch(`${h.url}/v1/receipts/${queued.id}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(receipt.status).toBe(200);
    } finally {
      behave = hello;
    }
  });

  it('shows one not streamed as in_progress once on a node', async () => {
    const held = heldAnswer(['Hi']);
    behave = held.serve;
    try {
      const queued = await client.responses.create({ model: 'test-llm', input: 'x', background: true });
      await held.onNode;
      let status = queued.status;
      for (let i = 0; i < 100 && status === 'queued'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        status = (await client.responses.retrieve(queued.id)).status;
      }
      expect(status).toBe('in_progress');
      held.release();
      for (let i = 0; i < 200 && status !== 'completed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        status = (await client.responses.retrieve(queued.id)).status;
      }
      expect(status).toBe('completed');
    } finally {
      behave = hello;
    }
  });

  it('waits for one another router runs, and tells one whose router was lost as failed', async () => {
    const archive = new ResponseArchive(h.store);
    const running = baseResponse('resp_ElsewhereElsewhereElsewhere', 'in_progress');
    await keptElsewhere(archive, running, Date.now() + 60_000);
    const reading = await again(running.id);
    const done = { ...running, status: 'completed' as const };
    const kept: ResponseStreamEvent[] = [
      { type: 'response.created', response: running as never, sequence_number: 0 },
      { type: 'response.completed', response: done as never, sequence_number: 1 },
    ];
    expect(await archive.finish(running.id, developer, done, kept)).toBe(true);
    expect(await all(reading)).toEqual(kept);

    const lost = baseResponse('resp_LostStreamLostStreamLostStream', 'queued');
    await keptElsewhere(archive, lost, Date.now() - LOST_ROUTER_GRACE_MS - 1);
    expect(await all(await again(lost.id))).toEqual([
      {
        type: 'response.failed',
        sequence_number: 0,
        response: expect.objectContaining({
          status: 'failed',
          error: expect.objectContaining({ code: 'deadline_exceeded' }),
        }),
      },
    ]);
  });

  it('lets a reader waiting for another router go when this router closes', async () => {
    const closing = await startGatewayHarness();
    const closingKey = await closing.key(developer);
    const elsewhere = baseResponse('resp_ClosingClosingClosingClosing', 'in_progress');
    await keptElsewhere(new ResponseArchive(closing.store), elsewhere, Date.now() + 600_000);
    const reader = new OpenAI({ baseURL: `${closing.url}/v1`, apiKey: closingKey, maxRetries: 0 });
    const reading = all(await reader.responses.retrieve(elsewhere.id, { stream: true })).then(
      () => undefined,
      (e: unknown) => e,
    );
    await closing.close();
    const error = await reading;
    expect(error).toMatchObject({ code: 'service_unavailable' });
  });

  it('refuses to stream again one not streamed in the background, and a bad starting point', async () => {
    const foreground = await client.responses.create({ model: 'test-llm', input: 'x' });
    expect(await apiErrorOf(again(foreground.id))).toEqual({
      status: 400,
      code: 'invalid_request',
      param: 'stream',
    });
    const background = await client.responses.create({ model: 'test-llm', input: 'x', background: true });
    expect(await apiErrorOf(again(background.id))).toMatchObject({ status: 400, param: 'stream' });
    const get = (query: string) =>
      fetch(`${h.url}/v1/responses/${foreground.id}?${query}`, {
        headers: { authorization: `Bearer ${key}` },
      });
    for (const query of [
      'starting_after=2',
      'stream=true&starting_after=-1',
      'stream=true&starting_after=x',
    ]) {
      const refused = await get(query);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { param: string } }).error.param).toBe('starting_after');
    }
    expect(await apiErrorOf(again('resp_NobodyNobodyNobodyNobody'))).toMatchObject({ status: 404 });
  });
});

function baseResponse(id: string, status: ResponseObjectStatus): ResponseObject {
  return responseFixture(id, { status, background: true, model: 'test-llm' });
}

/** A streamed background response as another router running it keeps it: its events still to come. */
function keptElsewhere(archive: ResponseArchive, response: ResponseObject, deadlineAt: number) {
  return archive.save({
    id: response.id,
    payer: developer,
    apiKeyId: 'key',
    response,
    context: [],
    deadlineAt,
    events: [],
  });
}
