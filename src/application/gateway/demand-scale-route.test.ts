// The autoscaler sizing a pod by its jobs, behind the gateway: while a request keeps the only warm node's
// slot busy, the next look loads the pod on another node, so the request after it finds that node warm
// instead of loading the model inside the caller's time. Miners are protocol peers the test scripts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { Autoscaler } from '../../orchestration/router/autoscaler.ts';
import { MinerPeer, testCapabilities } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { captureLogger } from '../../protocol/testing/capture-logger.ts';
import {
  answerText,
  type GatewayHarness,
  minerAccount,
  startGatewayHarness,
  TEST_DOMAIN,
  testPodSpec,
} from '../testing/gateway-harness.ts';

const developer = devAccount(7).address;
let h: GatewayHarness;
let autoscaler: Autoscaler;
const peers: MinerPeer[] = [];

async function join(index: number, warm: boolean, efficiency: number): Promise<MinerPeer> {
  const peer = await MinerPeer.join(
    { url: h.wsUrl, account: minerAccount(index), domain: TEST_DOMAIN },
    testCapabilities({ warmPods: warm ? [h.podId] : [], slots: { total: 1, free: 1 }, efficiency }),
  );
  peer.startHeartbeats(1_000);
  peers.push(peer);
  return peer;
}

beforeAll(async () => {
  h = await startGatewayHarness({ specs: [testPodSpec({ autoscale: { min: 0, max: 2 } })] });
  autoscaler = new Autoscaler({
    hub: h.hub,
    scheduler: h.scheduler,
    catalog: h.catalog,
    demand: h.dispatcher,
    busyShare: 0.7,
    logger: captureLogger().logger,
  });
});

afterAll(async () => {
  autoscaler?.stop();
  for (const peer of peers) peer.terminate();
  await h?.close();
});

describe("the autoscaler, sized by a pod's jobs", () => {
  it('loads the pod on a second node while the first is busy, and the next request finds it warm', async () => {
    const held: JobAssign[] = [];
    const busy = await join(0, true, 100);
    busy.serve((assign) => {
      held.push(assign);
    });
    const spare = await join(1, false, 10);
    spare.serve((assign) => answerText(spare, assign, ['warm ', 'already']));
    await h.nodesAvailable(2);
    // No jobs yet, and the spec keeps no node warm. (The first look takes the jobs as they are then; the
    // later ones, their average since the look before.)
    expect(autoscaler.pods()[0]).toMatchObject({ warm: 1, target: 0 });

    const key = await h.key(developer);
    const ask = () =>
      fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-llm', messages: [{ role: 'user', content: 'Hi' }] }),
      });
    const first = ask();
    await expect.poll(() => held.length).toBe(1);
    expect(h.dispatcher.demand(h.podId)).toMatchObject({ running: 1, queued: 0 });
    // The sessions know which node runs the pod's job (its idle time is 0 while it does).
    expect(h.hub.session(busy.node)?.runsPod(h.podId)).toBe(true);
    expect(h.hub.session(spare.node)?.runsPod(h.podId)).toBe(false);
    // Its one slot is the pod's to count (its own job holds it), and no other pod's.
    expect(h.hub.session(busy.node)?.slotsFor(h.podId)).toBe(1);
    expect(h.hub.session(busy.node)?.slotsFor(`0x${'ab'.repeat(32)}`)).toBe(0);

    // One job fills the warm node's one slot: more than 70 % of it.
    const sent = autoscaler.tick();
    expect(sent.map((a) => [a.kind, a.node, a.reason])).toEqual([
      ['load', spare.node, "1 job at once would keep more than 70 % of the warm nodes' slots busy"],
    ]);
    const load = await spare.next('pod.load');
    expect(load.podId).toBe(h.podId);
    spare.send({ type: 'pod.loaded', podId: h.podId, loadMs: 5 });
    await expect.poll(() => h.hub.session(spare.node)?.warmPods.has(h.podId)).toBe(true);
    expect(autoscaler.pods()[0]).toMatchObject({ warm: 2, target: 2 });

    const second = await ask();
    expect(second.status).toBe(200);
    expect(
      ((await second.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
    ).toBe('warm already');
    await answerText(busy, held[0] as JobAssign, ['done']);
    expect((await first).status).toBe(200);
    expect(h.hub.session(busy.node)?.runsPod(h.podId)).toBe(false);
    expect(h.hub.session(busy.node)?.podAssignedAt(h.podId)).toBeGreaterThan(0);
    expect(h.dispatcher.demand(h.podId)).toMatchObject({ running: 0, queued: 0 });
    // Asked once: the second node is warm now, and the jobs are done.
    expect(autoscaler.tick()).toEqual([]);
    expect(autoscaler.requests).toEqual({ load: 1, unload: 0 });
  });
});
