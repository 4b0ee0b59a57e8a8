// Background responses over real HTTP with a miner speaking the protocol: answered at once as queued,
// read back until they end (completed, failed with their error, cancelled by their caller), each end
// written into the kept response; refused where they cannot be; one left unfinished by a lost router
// read as failed once well past its deadline; nothing kept when the job is refused before it runs.
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { apiErrorOf } from '../testing/api-error.ts';
import { hello, type MinerBehaviour, startClientHarness } from '../testing/client-harness.ts';
import { LOST_ROUTER_GRACE_MS } from './routes/background-response.ts';

const developer = devAccount(6).address;
let behave: MinerBehaviour = hello;
const { h, client, key } = await startClientHarness(developer, (peer, assign) => behave(peer, assign));
afterAll(() => h.close());

/** The response as GET reads it, once it has left `queued`. */
async function settled(id: string) {
  for (;;) {
    const response = await client.responses.retrieve(id);
    if (response.status !== 'queued' && response.status !== 'in_progress') return response;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const cancel = (id: string) =>
  fetch(`${h.url}/v1/responses/${id}/cancel`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
  });

describe('background responses', () => {
  it('answers at once as queued, and its end is read back as an answer whole', async () => {
    const queued = await client.responses.create({ model: 'test-llm', input: 'Say hello', background: true });
    expect(queued).toMatchObject({ status: 'queued', background: true, output: [] });
    const done = await settled(queued.id);
    expect(done).toMatchObject({ id: queued.id, status: 'completed', background: true, error: null });
    expect(done.output_text).toBe('Hello world');
    expect(done.usage?.total_tokens).toBe(10);
    // It is a kept response like any other: continued, its receipt under its id.
    const next = await client.responses.create({
      model: 'test-llm',
      previous_response_id: queued.id,
      input: 'More',
    });
    expect(next.output_text).toBe('Hello world');
    const receipt = await fetch(`${h.url}/v1/receipts/${queued.id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(receipt.status).toBe(200);
  });

  it('writes a failed job as failed, with its error, and charges nothing', async () => {
    behave = (peer, assign) => peer.fail(assign, 'invalid_request', 'the pod refused the prompt', false);
    try {
      const queued = await client.responses.create({ model: 'test-llm', input: 'x', background: true });
      const failed = await settled(queued.id);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'invalid_request' }, output: [] });
      expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
    } finally {
      behave = hello;
    }
  });

  it('is cancelled by its caller on its node, answered again, and a finished one is not cancellable', async () => {
    let onNode = () => {};
    const reached = new Promise<void>((resolve) => {
      onNode = resolve;
    });
    behave = async (peer, assign) => {
      peer.accept(assign);
      onNode();
      await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId);
      peer.fail(assign, 'job_cancelled', 'stopped before any output', false);
    };
    try {
      const queued = await client.responses.create({ model: 'test-llm', input: 'x', background: true });
      await reached;
      const cancelled = await cancel(queued.id);
      expect(cancelled.status).toBe(200);
      expect(await cancelled.json()).toMatchObject({ id: queued.id, status: 'cancelled' });
      expect((await client.responses.retrieve(queued.id)).status).toBe('cancelled');
      expect((await (await cancel(queued.id)).json()) as object).toMatchObject({ status: 'cancelled' });
      expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
    } finally {
      behave = hello;
    }
    const done = await client.responses.create({ model: 'test-llm', input: 'x', background: true });
    await settled(done.id);
    const late = await cancel(done.id);
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('response_not_cancellable');
    const foreground = await client.responses.create({ model: 'test-llm', input: 'x' });
    expect((await cancel(foreground.id)).status).toBe(400);
  });

  it('reads one left unfinished well past its deadline (its router lost) as failed, and keeps it so', async () => {
    const id = 'resp_LostLostLostLostLostLost';
    const queued = { id, object: 'response', status: 'queued', background: true, output: [], error: null };
    await h.store.query(
      `insert into responses (id, payer, api_key_id, created_at, response, context, deadline_at, status)
       values ($1, $2, 'key', $3, $4::json, '[]', $5, 'queued')`,
      [id, developer, Date.now(), JSON.stringify(queued), Date.now() - LOST_ROUTER_GRACE_MS - 1],
    );
    const read = await client.responses.retrieve(id);
    expect(read).toMatchObject({ status: 'failed', error: { code: 'deadline_exceeded' } });
    const [row] = await h.store.query<{ status: string; written: string }>(
      "select status, response->>'status' as written from responses where id = $1",
      [id],
    );
    expect(row).toEqual({ status: 'failed', written: 'failed' });
  });

  it('reads one whose router died after its job ended, before writing its end, as its job ended', async () => {
    const lostAfter = async (id: string) =>
      h.store.query(
        `update responses set response = jsonb_set(response::jsonb, '{status}', '"in_progress"')::json,
           status = 'in_progress', deadline_at = $2
         where id = $1`,
        [id, Date.now() - LOST_ROUTER_GRACE_MS - 1],
      );
    const done = await settled(
      (await client.responses.create({ model: 'test-llm', input: 'x', background: true })).id,
    );
    await h.metering.flush();
    await lostAfter(done.id);
    // Charged, so answered: as the jobs log kept it (the same text and usage).
    const read = await client.responses.retrieve(done.id);
    expect(read).toMatchObject({ status: 'completed', usage: done.usage });
    expect(read.output_text).toBe('Hello world');
    expect((await client.responses.retrieve(done.id)).status).toBe('completed');

    behave = (peer, assign) => peer.fail(assign, 'invalid_request', 'the pod refused the prompt', false);
    try {
      const failed = await settled(
        (await client.responses.create({ model: 'test-llm', input: 'x', background: true })).id,
      );
      await h.metering.flush();
      await lostAfter(failed.id);
      expect(await client.responses.retrieve(failed.id)).toMatchObject({
        status: 'failed',
        error: { code: 'invalid_request' },
      });
    } finally {
      behave = hello;
    }
  });

  it('refuses what it cannot be, and keeps nothing for a job refused before it runs', async () => {
    const unkept = client.responses.create({ model: 'test-llm', input: 'x', background: true, store: false });
    expect(await apiErrorOf(unkept)).toEqual({ status: 400, code: 'invalid_request', param: 'store' });

    const poor = devAccount(8).address;
    const broke = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.key(poor, 0n), maxRetries: 0 });
    const refused = broke.responses.create({ model: 'test-llm', input: 'x', background: true });
    expect(await apiErrorOf(refused)).toMatchObject({ status: 402 });
    const rows = await h.store.query('select 1 from responses where payer = $1', [poor]);
    expect(rows).toHaveLength(0);
  });
});
