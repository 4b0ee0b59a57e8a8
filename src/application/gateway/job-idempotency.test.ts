// Idempotency-Key on POST /v1/jobs: a retry gets the job its first try made (one run, one charge), also
// when the first try's caller went away or is still waiting; the same key with another body is refused;
// a job that ended free frees its key, so a retry runs anew.
import { type Address, getAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { IdempotencyKeys } from '../../orchestration/metering/idempotency-keys.ts';
import { endedEntry, type MeteredJob, openedEntry } from '../../orchestration/metering/metering-entries.ts';
import { ingestEntries } from '../../orchestration/metering/metering-ingest.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import {
  answerText,
  type GatewayHarness,
  heldAnswer,
  startGatewayHarness,
} from '../testing/gateway-harness.ts';

const developer: Address = devAccount(8).address;
const unfunded: Address = devAccount(9).address;
let h: GatewayHarness;
let key: string;
let assignments = 0;
let behave: (peer: MinerPeer, assign: JobAssign) => void | Promise<void>;
const body = { pod: 'test-llm', input: { messages: [{ role: 'user', content: 'Say hello' }] } };

beforeAll(async () => {
  h = await startGatewayHarness();
  key = await h.key(developer);
  behave = (peer, assign) => answerText(peer, assign, ['ok']);
  await h.peer(0, (peer, assign) => {
    assignments++;
    return behave(peer, assign);
  });
});

afterAll(async () => {
  await h?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
type Json = any;

async function post(
  idempotencyKey: string | undefined,
  payload: unknown = body,
  options: { as?: string; signal?: AbortSignal } = {},
): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${h.url}/v1/jobs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.as ?? key}`,
      'content-type': 'application/json',
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    },
    body: JSON.stringify(payload),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { status: response.status, body: await response.json() };
}

const receipts = async () => {
  await h.metering.flush();
  return (await h.ledger.receiptsFor({ payer: developer })).length;
};

describe('Idempotency-Key on POST /v1/jobs', () => {
  it('answers a retry with the first try’s job: one run, one charge', async () => {
    const before = { receipts: await receipts(), assignments };
    const first = await post('order-1');
    expect(first.status).toBe(200);
    const retry = await post('order-1');
    expect(retry).toEqual(first);
    expect(await receipts()).toBe(before.receipts + 1);
    expect(assignments).toBe(before.assignments + 1);
    const reused = await post('order-1', {
      ...body,
      input: { messages: [{ role: 'user', content: 'other' }] },
    });
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: 'idempotency_key_reused', param: 'idempotency-key' });
  });

  it('runs the job to its end when the caller goes away, so the retry gets its result', async () => {
    const before = { receipts: await receipts(), assignments };
    const held = heldAnswer(['late']);
    behave = held.serve;
    const gone = new AbortController();
    const first = post('order-2', body, { signal: gone.signal }).catch(() => 'aborted');
    await held.onNode;
    gone.abort();
    expect(await first).toBe('aborted');
    // A retry while the job runs waits for it here.
    const retry = post('order-2');
    await new Promise((r) => setTimeout(r, 20));
    held.release();
    const answer = await retry;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      status: 'succeeded',
      output: { text: 'late' },
      usage: { output_tokens: 1 },
    });
    expect(await receipts()).toBe(before.receipts + 1);
    expect(assignments).toBe(before.assignments + 1);
    behave = (peer, assign) => answerText(peer, assign, ['ok']);
  });

  it('answers an async retry with the same job', async () => {
    const first = await post('order-3', { ...body, mode: 'async' });
    expect(first.status).toBe(202);
    const retry = await post('order-3', { ...body, mode: 'async' });
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(first.body.id);
  });

  it('frees the key of a job that ended free: the retry runs anew', async () => {
    const poorKey = await h.key(unfunded, 0n);
    const refused = await post('order-4', body, { as: poorKey });
    expect(refused.status).toBe(402);
    h.balances.set(unfunded, 10n ** 18n);
    const paid = await post('order-4', body, { as: poorKey });
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe('succeeded');
  });

  describe('a first try running on another router sharing the store', () => {
    /** The other router's claim of `key` for `payload`, and its job logged running in the store. */
    async function runningElsewhere(key: string, payload: unknown) {
      const job: MeteredJob = {
        jobId: randomBytes32(),
        publicId: newApiId('job'),
        payer: getAddress(developer),
        podId: h.podId,
        kind: 'chat',
        createdAt: Date.now(),
      };
      await new IdempotencyKeys(h.store).claim({
        payer: developer,
        key,
        request: payload,
        publicId: job.publicId,
      });
      await h.store.transaction((tx) => ingestEntries(tx, 'other-router', [openedEntry(job, 'running')]));
      return job;
    }

    it('has a sync retry wait for its end, read from the store, and answer with it: nothing runs here', async () => {
      const job = await runningElsewhere('elsewhere-1', body);
      const before = assignments;
      let answered = false;
      const retry = post('elsewhere-1').finally(() => {
        answered = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(answered).toBe(false);
      const result = { output: { text: 'from there', finishReason: 'stop' }, attempts: 1 };
      const ended = endedEntry(job, { status: 'succeeded', result });
      await h.store.transaction((tx) => ingestEntries(tx, 'other-router', [ended]));
      const { status, body: answer } = await retry;
      expect(status).toBe(200);
      expect(answer).toMatchObject({ id: job.publicId, status: 'succeeded', output: result.output });
      expect(assignments).toBe(before);
    });

    it("answers 409 request_in_progress (retryable) once the retry's own deadline passes", async () => {
      const payload = { ...body, timeout_ms: 400 };
      const job = await runningElsewhere('elsewhere-2', payload);
      const started = Date.now();
      const { status, body: answer } = await post('elsewhere-2', payload);
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      expect(status).toBe(409);
      expect(answer.error).toMatchObject({ code: 'request_in_progress' });
      expect(answer.error.message).toContain(job.publicId);
    });
  });

  it('refuses a malformed key by name', async () => {
    const answer = await post('x'.repeat(256));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_request', param: 'idempotency-key' });
  });
});
