// GET /nodes: each connected node as the router sees it (hardware, slots with the attempts running on it,
// warm pods by model name, uptime, suspension, draining), without an API key, for operators.
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { type MinerPeer, testCapabilities } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { podId } from '../../protocol/pod-spec.ts';
import {
  answerText,
  type GatewayHarness,
  minerAccount,
  startGatewayHarness,
  testPodSpec,
} from '../testing/gateway-harness.ts';
import type { NodeStatus } from './ports.ts';

const developer: Address = devAccount(7).address;
const chatBody = { model: 'test-llm', messages: [{ role: 'user', content: 'Say hello' }] };
let h: GatewayHarness;
let key: string;
let peers: MinerPeer[];
let behave: (peer: MinerPeer, assign: JobAssign) => void;

beforeAll(async () => {
  h = await startGatewayHarness({ suspendMs: 60_000 });
  key = await h.key(developer);
  behave = (peer, assign) => void answerText(peer, assign, ['ok']);
  peers = [
    await h.peer(0, (peer, assign) => behave(peer, assign)),
    await h.peer(1, (peer, assign) => behave(peer, assign)),
  ];
});

afterAll(async () => {
  await h?.close();
});

async function nodes(): Promise<NodeStatus[]> {
  const response = await fetch(`${h.url}/nodes`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { object: string; data: NodeStatus[] };
  expect(body.object).toBe('list');
  return body.data;
}

function chat() {
  return fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(chatBody),
  });
}

const byNode = (list: NodeStatus[], i: number) => list.find((n) => n.node === minerAccount(i).address);

describe('GET /nodes', () => {
  it('lists every connected node with its hardware, slots and warm pods by model name', async () => {
    const list = await nodes();
    expect(list.map((n) => n.node).sort()).toEqual([minerAccount(0).address, minerAccount(1).address].sort());
    expect(byNode(list, 0)).toMatchObject({
      state: 'ready',
      protocolVersion: 1,
      hardware: { gpus: [], cpu: { cores: 2 }, ramMiB: 8_192, efficiency: 10, runtimes: ['llama-cpp'] },
      slots: { total: 4, running: 0, free: 4 },
      warmPods: [{ podId: podId(testPodSpec()), model: 'test-llm' }],
      hostedPods: null,
      podMemory: null,
      suspendedUntil: null,
      rankedEfficiency: null,
      paces: [],
    });
    // A node that says how much memory its pods hold: shown as it says, as it changes.
    const unknown = `0x${'cd'.repeat(32)}` as const;
    peers[1]?.send(
      testCapabilities({
        warmPods: [podId(testPodSpec())],
        podMemory: { budgetMiB: 8_000, heldMiB: 4_500 },
        hostedPods: [podId(testPodSpec()), unknown],
      }),
    );
    await expect
      .poll(async () => byNode(await nodes(), 1)?.podMemory)
      .toEqual({ budgetMiB: 8_000, heldMiB: 4_500 });
    // The pods it can run, by the model this router serves each under (null for one it does not serve).
    expect(byNode(await nodes(), 1)?.hostedPods).toEqual([
      { podId: podId(testPodSpec()), model: 'test-llm' },
      { podId: unknown, model: null },
    ]);
    const first = byNode(list, 0);
    expect(first?.uptime).toBeGreaterThan(0);
    expect(first?.connectedAt).toBeLessThanOrEqual(Date.now());
    // The test peers beat every second.
    await expect.poll(async () => byNode(await nodes(), 0)?.lastHeartbeat).toMatchObject({ load: 0 });
  });

  it('counts the attempts running on a node, and shows a failed node suspended', async () => {
    let held: { peer: MinerPeer; assign: JobAssign } | undefined;
    behave = (peer, assign) => {
      peer.accept(assign);
      held = { peer, assign };
    };
    const answer = chat();
    while (held === undefined) await new Promise((r) => setTimeout(r, 5));
    const busy = held.peer;
    const index = peers.indexOf(busy);
    expect(byNode(await nodes(), index)?.slots).toEqual({ total: 4, running: 1, free: 3 });

    behave = (peer, assign) => void answerText(peer, assign, ['ok']);
    busy.fail(held.assign, 'node_failed', 'out of memory', true);
    expect((await answer).status).toBe(200);
    const after = byNode(await nodes(), index);
    expect(after?.state).toBe('suspended');
    expect(after?.suspendedUntil).toBeGreaterThan(Date.now());
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/^neurino_nodes\{state="suspended"\} 1$/m);
    expect(metrics).toMatch(/^neurino_nodes\{state="ready"\} 1$/m);
    expect(after?.slots.running).toBe(0);
    expect(byNode(await nodes(), 1 - index)?.state).toBe('ready');
  });

  it('shows the paces at which the router timed a node, by model and kind', async () => {
    const long = Array.from({ length: 20 }, (_, i) => `w${i} `);
    behave = (peer, assign) => void answerText(peer, assign, long);
    try {
      for (let i = 0; i < 2; i++) expect((await chat()).status).toBe(200);
    } finally {
      behave = (peer, assign) => void answerText(peer, assign, ['ok']);
    }
    const paces = (await nodes()).flatMap((n) => n.paces);
    expect(paces.length).toBeGreaterThan(0);
    for (const pace of paces) {
      expect(pace).toMatchObject({ podId: podId(testPodSpec()), model: 'test-llm', kind: 'chat' });
      expect(pace.perSecond).toBeGreaterThan(0);
    }
    expect(paces.reduce((sum, pace) => sum + pace.jobs, 0)).toBe(2);
  });

  it('shows the efficiency a node is ranked by when its pace belies the one it announces', async () => {
    const ranked = async () =>
      (await (await fetch(`${h.url}/metrics`)).text()).match(
        /^neurino_nodes_ranked_below_claim (\d+)$/m,
      )?.[1];
    expect(await ranked()).toBe('0');
    h.scheduler.capEfficiency(minerAccount(0).address, 2.5);
    expect(byNode(await nodes(), 0)).toMatchObject({ hardware: { efficiency: 10 }, rankedEfficiency: 2.5 });
    expect(await ranked()).toBe('1');
    h.scheduler.capEfficiency(minerAccount(0).address, undefined);
    expect(byNode(await nodes(), 0)?.rankedEfficiency).toBeNull();
    expect(await ranked()).toBe('0');
  });

  it('shows a draining node, and forgets a node that left', async () => {
    peers[1]?.send({ type: 'draining', activeJobs: 0 });
    await expect.poll(async () => byNode(await nodes(), 1)?.state).toBe('draining');
    peers[1]?.close();
    await expect.poll(async () => byNode(await nodes(), 1)).toBeUndefined();
  });
});
