// The jobs API beyond running one: GET /v1/jobs lists a caller's jobs-API jobs newest first, in OpenAI's
// list pages, from the moment a job is accepted (running on this router) to the store, nobody else's and
// no chat requests (the journal's part of the merge is tested with metering's jobs log,
// metering-job-log.test.ts); POST /v1/jobs/:id/cancel stops one on its node: free when the node hands
// over nothing, charged for the work done when it does (as a caller walking away), answered again when
// cancelled already; a job that ended otherwise or runs on another router is 409, anyone else's 404.
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import {
  answerText,
  type GatewayHarness,
  heldAnswer,
  startGatewayHarness,
} from '../testing/gateway-harness.ts';

const developer: Address = devAccount(6).address;
const stranger: Address = devAccount(7).address;
let h: GatewayHarness;
let key: string;
let strangerKey: string;
let behave: (peer: MinerPeer, assign: JobAssign) => void | Promise<void>;
const input = { messages: [{ role: 'user', content: 'Say hello' }] };

beforeAll(async () => {
  h = await startGatewayHarness();
  key = await h.key(developer);
  strangerKey = await h.key(stranger);
  behave = (peer, assign) => answerText(peer, assign, ['ok']);
  await h.peer(0, (peer, assign) => behave(peer, assign));
});

afterAll(async () => {
  await h?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
type Json = any;

async function call(
  path: string,
  init: { method?: string; body?: unknown; as?: string } = {},
): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${h.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${init.as ?? key}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: response.status, body: await response.json() };
}

const cancel = (id: string, as = key) => call(`/v1/jobs/${id}/cancel`, { method: 'POST', as });
const receiptsOf = async (payer: Address) => {
  await h.metering.flush();
  return (await h.ledger.receiptsFor({ payer })).length;
};

/** The node holds the job until the router asks for the work done, then answers with `answer`. */
function holdUntilCancelled(answer: (peer: MinerPeer, assign: JobAssign) => Promise<void> | void) {
  let assigned = () => {};
  const onNode = new Promise<void>((resolve) => {
    assigned = resolve;
  });
  behave = async (peer, assign) => {
    peer.accept(assign);
    assigned();
    await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId);
    await answer(peer, assign);
  };
  return onNode;
}

const runJob = async (as = key) => (await call('/v1/jobs', { body: { pod: 'test-llm', input }, as })).body;
const ids = (page: Json) => (page.data as { id: string }[]).map((job) => job.id);

describe('GET /v1/jobs', () => {
  it('lists the caller’s jobs newest first, in pages', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push((await runJob()).id);
      // Distinct milliseconds: the order below is the order they were made in.
      await new Promise((r) => setTimeout(r, 2));
    }
    await runJob(strangerKey);
    await call('/v1/chat/completions', { body: { model: 'test-llm', ...input } });
    const newestFirst = [...made].reverse();

    const whole = await call('/v1/jobs');
    expect(whole.status).toBe(200);
    expect(ids(whole.body)).toEqual(newestFirst);
    expect(whole.body).toMatchObject({
      object: 'list',
      first_id: newestFirst[0],
      last_id: newestFirst[4],
      has_more: false,
    });
    expect(whole.body.data[0]).toMatchObject({
      object: 'job',
      pod: 'test-llm',
      status: 'succeeded',
      output: { text: 'ok' },
      usage: { output_tokens: 1 },
    });

    await h.metering.flush();
    const first = await call('/v1/jobs?limit=2');
    expect(first.body).toMatchObject({ has_more: true, first_id: newestFirst[0], last_id: newestFirst[1] });
    const second = await call(`/v1/jobs?limit=2&after=${first.body.last_id}`);
    expect(ids(second.body)).toEqual(newestFirst.slice(2, 4));
    expect(second.body.has_more).toBe(true);
    const third = await call(`/v1/jobs?limit=2&after=${second.body.last_id}`);
    expect(third.body).toMatchObject({ has_more: false, last_id: newestFirst[4] });
    expect(ids(third.body)).toEqual(newestFirst.slice(4));
    const beyond = await call(`/v1/jobs?after=${newestFirst[4]}`);
    expect(beyond.body).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });

    const theirs = await call('/v1/jobs', { as: strangerKey });
    expect(ids(theirs.body)).toHaveLength(1);
    expect(newestFirst).not.toContain(ids(theirs.body)[0]);
  });

  it('shows a job running on a node, sync or async, before the log has it', async () => {
    const held = heldAnswer(['late']);
    behave = held.serve;
    const sync = call('/v1/jobs', { body: { pod: 'test-llm', input } });
    await held.onNode;
    const [running] = (await call('/v1/jobs?limit=1')).body.data;
    expect(running).toMatchObject({ object: 'job', status: 'running', attempts: 1 });
    // The log has it from the start and from its first attempt on as running: any router sharing the
    // store tells it as this one does (its attempts are logged with its end).
    await h.metering.flush();
    expect(await h.jobs.get(running.id)).toMatchObject({ status: 'running' });
    held.release();
    const answered = (await sync).body;
    expect(answered.id).toBe(running.id);
    expect(answered.created).toBe(running.created);
    behave = (peer, assign) => answerText(peer, assign, ['ok']);
    const [done] = (await call('/v1/jobs?limit=1')).body.data;
    expect(done).toMatchObject({ id: running.id, status: 'succeeded', output: { text: 'late' } });
  });

  it('refuses bad pages by name', async () => {
    const someoneElses = (await call('/v1/jobs', { as: strangerKey })).body.data[0].id as string;
    for (const [query, param] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=1.5', 'limit'],
      ['after=job_doesnotexist000000000000', 'after'],
      ['after=chatcmpl-abc', 'after'],
      [`after=${someoneElses}`, 'after'],
      ['order=asc', null],
    ] as const) {
      const answer = await call(`/v1/jobs?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code, query).toBe('invalid_request');
      if (param !== null) expect(answer.body.error.param, query).toBe(param);
    }
    const noKey = await fetch(`${h.url}/v1/jobs`);
    expect(noKey.status).toBe(401);
  });
});

describe('POST /v1/jobs/:id/cancel', () => {
  it('stops an async job on its node, free when the node hands over nothing, and answers again', async () => {
    const onNode = holdUntilCancelled((peer, assign) =>
      peer.fail(assign, 'job_cancelled', 'stopped before any output', false),
    );
    const before = await receiptsOf(developer);
    const queued = (await call('/v1/jobs', { body: { pod: 'test-llm', input, mode: 'async' } })).body;
    await onNode;
    const cancelled = await cancel(queued.id);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: queued.id, object: 'job', status: 'cancelled', attempts: 1 });
    expect(cancelled.body.usage).toBeUndefined();
    expect(await receiptsOf(developer)).toBe(before);
    expect((await call(`/v1/jobs/${queued.id}`)).body).toMatchObject({ status: 'cancelled' });
    expect(await cancel(queued.id)).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
  });

  it('charges the work the node had done when it hands it over', async () => {
    const onNode = holdUntilCancelled((peer, assign) =>
      peer
        .result(
          assign,
          { text: 'Hel', finishReason: 'cancelled' },
          { usage: { inputTokens: 7, outputTokens: 1 } },
        )
        .then(() => {}),
    );
    const before = await receiptsOf(developer);
    const queued = (await call('/v1/jobs', { body: { pod: 'test-llm', input, mode: 'async' } })).body;
    await onNode;
    const cancelled = await cancel(queued.id);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      usage: { input_tokens: 7, output_tokens: 1 },
    });
    expect(await receiptsOf(developer)).toBe(before + 1);
  });

  it('stops a sync job from another request: its caller gets 499 job_cancelled', async () => {
    const onNode = holdUntilCancelled((peer, assign) => peer.fail(assign, 'job_cancelled', 'stopped', false));
    const waiting = call('/v1/jobs', { body: { pod: 'test-llm', input } });
    await onNode;
    const [running] = (await call('/v1/jobs?limit=1')).body.data;
    expect(running.status).toBe('running');
    expect((await cancel(running.id)).body).toMatchObject({ status: 'cancelled' });
    const answer = await waiting;
    expect(answer.status).toBe(499);
    expect(answer.body.error.code).toBe('job_cancelled');
  });

  it('refuses a job that ended otherwise, one another router runs, and anyone else’s', async () => {
    behave = (peer, assign) => answerText(peer, assign, ['done']);
    const finished = (await call('/v1/jobs', { body: { pod: 'test-llm', input } })).body;
    const late = await cancel(finished.id);
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'job_not_cancellable', param: 'id' });
    expect(late.body.error.message).toMatch(/already succeeded/);
    expect((await call(`/v1/jobs/${finished.id}`)).body.status).toBe('succeeded');

    // Logged queued by another router sharing the store: not this router's to stop.
    const elsewhere = newApiId('job');
    await h.jobs.create({
      jobId: randomBytes32(),
      publicId: elsewhere,
      payer: developer,
      podId: h.podId,
      kind: 'chat',
    });
    const other = await cancel(elsewhere);
    expect(other.status).toBe(409);
    expect(other.body.error.message).toMatch(/runs on another router/);

    for (const id of [finished.id, 'job_doesnotexist000000000000', 'chatcmpl-abc']) {
      const answer = await cancel(id, id === finished.id ? strangerKey : key);
      expect(answer.status, id).toBe(404);
      expect(answer.body.error.code, id).toBe('job_not_found');
    }
  });
});
