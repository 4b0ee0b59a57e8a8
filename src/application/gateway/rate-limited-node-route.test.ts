// A node whose upstream is rate limited, behind the gateway: its callers wait out a short pause and are
// served, or are told at once when to come back (503 with Retry-After), charged nothing for the refusals;
// operators see the node paused.
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import {
  answerText,
  type GatewayHarness,
  minerAccount,
  startGatewayHarness,
} from '../testing/gateway-harness.ts';
import type { NodeStatus } from './ports.ts';

const developer: Address = devAccount(7).address;
let h: GatewayHarness;
let key: string;
/** What the node does with its next assignments, in turn; then it serves. */
const refusals: Array<{ retryAfterMs?: number }> = [];
const assigned: number[] = [];

beforeAll(async () => {
  h = await startGatewayHarness({ maxQueueMs: 5_000 });
  key = await h.key(developer);
  await h.peer(0, (node: MinerPeer, assign: JobAssign) => {
    assigned.push(Date.now());
    const refusal = refusals.shift();
    if (refusal === undefined) return void answerText(node, assign, ['ok']);
    node.fail(assign, 'rate_limited', 'Rate limit reached', true, 4, refusal.retryAfterMs);
  });
});

afterAll(async () => {
  await h?.close();
});

function chat() {
  return fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'x-neurino-max-retries': '0',
    },
    body: JSON.stringify({ model: 'test-llm', messages: [{ role: 'user', content: 'Say hello' }] }),
  });
}

async function node(): Promise<NodeStatus | undefined> {
  const body = (await (await fetch(`${h.url}/nodes`)).json()) as { data: NodeStatus[] };
  return body.data.find((n) => n.node === minerAccount(0).address);
}

async function receipts(): Promise<number> {
  await h.metering.flush();
  return (await h.ledger.receiptsFor({ payer: developer })).length;
}

describe('a rate-limited node behind the gateway', () => {
  it('has its caller wait out the pause it asked for, then serves it, charged once', async () => {
    refusals.push({ retryAfterMs: 1_500 });
    const answering = chat();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const paused = await node();
    expect(paused?.state).toBe('paused');
    expect(paused?.suspendedUntil).toBeGreaterThan(Date.now() + 500);
    const answer = await answering;
    expect(answer.status, await answer.clone().text()).toBe(200);
    expect((assigned[1] ?? 0) - (assigned[0] ?? 0)).toBeGreaterThanOrEqual(1_450);
    expect(await receipts()).toBe(1);
    expect((await node())?.state).toBe('ready');
  });

  it('answers 503 with a Retry-After at once when the pause outlasts the wait, and sends it nothing meanwhile', async () => {
    refusals.push({ retryAfterMs: 120_000 });
    const before = assigned.length;
    const started = Date.now();
    const refused = await chat();
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(119);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(120);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('no_node_available');
    expect(Date.now() - started).toBeLessThan(5_000);
    const again = await chat();
    expect(again.status).toBe(503);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(100);
    expect(assigned.length - before).toBe(1);
    const paused = await node();
    expect(paused?.state).toBe('paused');
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/^neurino_nodes\{state="paused"\} 1$/m);
    expect(metrics).toMatch(/^neurino_nodes\{state="ready"\} 0$/m);
    expect(metrics).toMatch(/^neurino_nodes\{state="suspended"\} 0$/m);
    expect(await receipts()).toBe(1);
    expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
  });
});
