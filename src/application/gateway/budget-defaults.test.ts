// The operator's budget defaults (`neurino router --default-max-retries/--default-timeout-ms`) apply to
// requests that do not ask for their own, on the OpenAI routes and the jobs API alike; a request's own
// header or body field still wins.
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { answerText, type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer: Address = devAccount(6).address;
const chatBody = { model: 'test-llm', messages: [{ role: 'user', content: 'Say hello' }] };
let h: GatewayHarness;
let key: string;
let behave: (peer: MinerPeer, assign: JobAssign) => void;

beforeAll(async () => {
  h = await startGatewayHarness({ suspendMs: 1, gateway: { budget: { maxRetries: 0, timeoutMs: 300 } } });
  key = await h.key(developer);
  await h.peer(0, (peer, assign) => behave(peer, assign));
  await h.peer(1, (peer, assign) => behave(peer, assign));
});

afterAll(async () => {
  await h?.close();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The first assignment fails (retryable), every later one answers. */
function failFirst(): void {
  let failed = false;
  behave = (peer, assign) => {
    if (failed) return void answerText(peer, assign, ['ok']);
    failed = true;
    peer.fail(assign, 'node_failed', 'out of memory', true);
  };
}

describe('budget defaults', () => {
  it('takes the default retries when a request names none, and the header when it does', async () => {
    failFirst();
    const refused = await post('/v1/chat/completions', chatBody);
    expect(refused.status).toBe(502);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('retries_exhausted');
    await h.nodesAvailable(2);

    failFirst();
    const retried = await post('/v1/chat/completions', chatBody, { 'x-neurino-max-retries': '1' });
    expect(retried.status).toBe(200);
    await h.nodesAvailable(2);
  });

  it('takes the default deadline when a request names none, on the OpenAI routes and the jobs API', async () => {
    behave = (peer, assign) => peer.accept(assign);
    const chat = await post('/v1/chat/completions', chatBody);
    expect(chat.status).toBe(504);
    expect(((await chat.json()) as { error: { code: string } }).error.code).toBe('deadline_exceeded');
    await h.nodesAvailable(2);

    const job = await post('/v1/jobs', { pod: 'test-llm', input: chatBody });
    expect(job.status).toBe(504);
    await h.nodesAvailable(2);

    behave = (peer, assign) => {
      peer.accept(assign);
      setTimeout(() => void answerText(peer, assign, ['late']), 500);
    };
    const patient = await post('/v1/chat/completions', chatBody, { 'x-neurino-timeout-ms': '5000' });
    expect(patient.status).toBe(200);
    await h.nodesAvailable(2);
  });
});
