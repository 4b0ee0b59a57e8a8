// A miner that refused a job for want of a free slot tells its router as soon as one frees, with a
// heartbeat out of turn: the router counts the node full after such a refusal until it hears otherwise,
// and a job waits for that slot. The router here beats once a minute, so any heartbeat seen is that one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Miner } from './miner.ts';
import { startTestMiner, TEST_DOMAIN, type TinyPod, tinyPod } from './testing/miner-fixture.ts';
import { type TestConnection, TestRouter } from './testing/test-router.ts';

let pod: TinyPod;
let router: TestRouter;
let miner: Miner;
let connection: TestConnection;

beforeAll(async () => {
  pod = await tinyPod();
  router = await TestRouter.start({ domain: TEST_DOMAIN, heartbeatMs: 60_000 });
  ({ miner } = await startTestMiner(pod, router.url, { slots: 1 }));
  connection = await router.welcomedConnection(0);
});

afterAll(async () => {
  await miner?.stop();
  await router?.close();
  await pod?.cleanup();
});

const completion = (maxTokens: number) => ({
  model: 'neurino-tiny',
  prompt: 'Once upon a time',
  max_tokens: maxTokens,
  temperature: 0,
});

describe('a miner that refused a job for want of a slot', () => {
  it('sends a heartbeat with the slot free as soon as its running job ends', async () => {
    const running = connection.assign({
      podId: pod.podId,
      kind: 'completion',
      input: completion(400),
      stream: true,
    });
    await connection.waitFor('job.chunk');
    const refused = await connection.assign({ podId: pod.podId, kind: 'completion', input: completion(2) });
    expect(refused.error).toMatchObject({ code: 'no_capacity', slotsFree: 0 });
    const before = connection.received.filter((m) => m.type === 'heartbeat').length;
    expect(before).toBe(0);
    const from = connection.received.length;
    const done = await running;
    expect(done.checked?.ok).toBe(true);
    const heartbeat = await connection.waitFor('heartbeat', () => true, from);
    expect(heartbeat.slotsFree).toBe(1);
    // After the result: the router has freed the slot it counted before it reads the node's count.
    const order = connection.received.slice(from).map((m) => m.type);
    expect(order.indexOf('job.result')).toBeLessThan(order.indexOf('heartbeat'));
    // One per refusal: the next job, which finds the slot free, brings no heartbeat out of turn.
    await connection.assign({ podId: pod.podId, kind: 'completion', input: completion(2) });
    expect(connection.received.filter((m) => m.type === 'heartbeat')).toHaveLength(1);
  });
});
