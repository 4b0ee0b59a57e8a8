// A miner whose pods do not all fit in its memory, on the real tiny model: it preloads what fits, a job
// for a cold pod unloads the pod idle longest (announced cold at once), and so does the router's
// `pod.load`; a pod larger than the whole budget is refused at start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podId as podIdOf } from '../../protocol/pod-spec.ts';
import { LlamaCppRuntime } from '../pods/llama-cpp.ts';
import { describeFile, ggufPodSpec } from './local-pods.ts';
import type { Miner } from './miner.ts';
import type { HostedPodConfig } from './pod-host.ts';
import { startTestMiner, TEST_DOMAIN, type TinyPod, tinyPod } from './testing/miner-fixture.ts';
import { type TestConnection, TestRouter } from './testing/test-router.ts';

/** The tiny model as a pod of its own name, said to hold `memoryMiB`. */
async function podOf(pod: TinyPod, name: string, memoryMiB: number): Promise<HostedPodConfig> {
  const spec = ggufPodSpec({ name, ...(await describeFile(pod.modelPath)) });
  return {
    spec,
    podId: podIdOf(spec),
    runtime: new LlamaCppRuntime({ modelPath: pod.modelPath }),
    memoryMiB,
  };
}

const chat = { model: 'x', messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 2, seed: 1 };

describe('a miner with more pods than memory', () => {
  let pod: TinyPod;
  let router: TestRouter;
  let first: HostedPodConfig;
  let second: HostedPodConfig;
  let miner: Miner;
  let connection: TestConnection;
  let lines: { msg: string }[];

  beforeAll(async () => {
    pod = await tinyPod();
    router = await TestRouter.start({ domain: TEST_DOMAIN, heartbeatMs: 100 });
    first = await podOf(pod, 'tiny-first', 600);
    second = await podOf(pod, 'tiny-second', 600);
    ({ miner, lines } = await startTestMiner(pod, router.url, { pods: [first, second], memoryMiB: 1000 }));
    connection = await router.welcomedConnection(0);
  });

  afterAll(async () => {
    await miner?.stop();
    await router?.close();
    for (const config of [first, second]) await config?.runtime.unload();
    await pod?.cleanup();
  });

  it('preloads the pods that fit, in order, and leaves the rest cold', async () => {
    const announced = await connection.waitFor('capabilities');
    expect(announced.warmPods).toEqual([first.podId]);
    expect(announced.podMemory).toEqual({
      budgetMiB: 1000,
      heldMiB: 600,
      pods: [
        { podId: first.podId, mib: 600 },
        { podId: second.podId, mib: 600 },
      ],
    });
    expect(second.runtime.info().warm).toBe(false);
    expect(miner.state().podMemory).toEqual({ budgetMiB: 1000, heldMiB: 600 });
    expect(lines.map((l) => l.msg)).toContainEqual(
      expect.stringMatching(/pod tiny-second stays cold until a job asks for it: .*needs 600 MiB and 400 of/),
    );
  });

  it("a job for the cold pod unloads the idle one, which is announced cold before the job's result", async () => {
    const heard = connection.received.length;
    const outcome = await connection.assign({ podId: second.podId, kind: 'chat', input: chat });
    expect(outcome.checked?.ok).toBe(true);
    const frames = connection.received.slice(heard);
    const coldAt = frames.findIndex((m) => m.type === 'capabilities' && !m.warmPods.includes(first.podId));
    const resultAt = frames.findIndex((m) => m.type === 'job.result');
    expect(coldAt).toBeGreaterThanOrEqual(0);
    expect(coldAt).toBeLessThan(resultAt);
    await connection.waitFor('capabilities', (c) => c.warmPods.join() === second.podId, heard);
    expect([first.runtime.info().warm, second.runtime.info().warm]).toEqual([false, true]);
    expect(miner.state().podMemory.heldMiB).toBe(600);
    expect(lines.map((l) => l.msg)).toContain('pod tiny-first unloaded to make room for tiny-second');
  });

  it("the router's pod.load makes room the same way", async () => {
    const heard = connection.received.length;
    connection.send({ type: 'pod.load', podId: first.podId, spec: first.spec });
    await connection.waitFor('pod.loaded', (m) => m.podId === first.podId, heard);
    await connection.waitFor('capabilities', (c) => c.warmPods.join() === first.podId, heard);
    expect(second.runtime.info().warm).toBe(false);
  });

  it("the router's pod.unload: cold at once, and the memory given back announced once the unload ends", async () => {
    const heard = connection.received.length;
    connection.send({ type: 'pod.unload', podId: first.podId });
    await connection.waitFor('pod.unloaded', (m) => m.podId === first.podId, heard);
    const announced = await connection.waitFor('capabilities', (c) => c.podMemory?.heldMiB === 0, heard);
    expect(announced.warmPods).toEqual([]);
    expect(miner.state().podMemory.heldMiB).toBe(0);
  });
});

describe('a miner with a keep-alive', () => {
  it('unloads a pod idle that long, announced cold, and loads it again for the next job', async () => {
    const pod = await tinyPod();
    const router = await TestRouter.start({ domain: TEST_DOMAIN, heartbeatMs: 100 });
    const { miner, lines } = await startTestMiner(pod, router.url, { keepAliveMs: 150 });
    try {
      const connection = await router.welcomedConnection(0);
      expect((await connection.waitFor('capabilities')).warmPods).toEqual([pod.podId]);
      const heard = connection.received.length;
      await connection.waitFor('capabilities', (c) => c.warmPods.length === 0, heard);
      expect(pod.runtime.info().warm).toBe(false);
      expect(miner.state().podMemory.heldMiB).toBe(0);
      expect(lines.map((l) => l.msg)).toContain('pod neurino-tiny unloaded after 150 ms idle');
      const outcome = await connection.assign({ podId: pod.podId, kind: 'chat', input: chat });
      expect(outcome.checked?.ok).toBe(true);
      await connection.waitFor('capabilities', (c) => c.warmPods.length === 1, heard);
    } finally {
      await miner.stop();
      await router.close();
      await pod.cleanup();
    }
  });
});

describe('a miner with a pod larger than its memory', () => {
  it('refuses to start, naming the pod and the budget', async () => {
    const pod = await tinyPod();
    try {
      const router = await TestRouter.start({ domain: TEST_DOMAIN });
      try {
        const large = await podOf(pod, 'tiny-large', 5000);
        await expect(startTestMiner(pod, router.url, { pods: [large] })).rejects.toThrow(
          'pod tiny-large needs 5000 MiB, more than the 4096 MiB this node',
        );
      } finally {
        await router.close();
      }
    } finally {
      await pod.cleanup();
    }
  });
});
