// A miner beside the OpenAI-compatible server it relays to, as an operator runs both: started together,
// the miner waits while the server is not ready (loading its model, full) rather than exit, and announces
// the pod warm once it answers (what the operator configured wrong still fails at once); when the server
// goes away later, the pod is announced cold until it answers again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podId as podIdOf } from '../../protocol/pod-spec.ts';
import { captureLogger } from '../../protocol/testing/capture-logger.ts';
import { OpenAIUpstreamRuntime } from '../pods/openai-upstream.ts';
import {
  type OpenAICompatibleServer,
  startOpenAICompatibleServer,
} from '../pods/testing/openai-compatible-server.ts';
import { upstreamPodSpec } from './local-pods.ts';
import { startTestMiner, TEST_DOMAIN, type TinyPod, tinyPod } from './testing/miner-fixture.ts';
import { TestRouter } from './testing/test-router.ts';

let backing: TinyPod;
let server: OpenAICompatibleServer;
let router: TestRouter;

beforeAll(async () => {
  backing = await tinyPod();
  await backing.runtime.load();
  server = await startOpenAICompatibleServer(backing.runtime);
  router = await TestRouter.start({ domain: TEST_DOMAIN, heartbeatMs: 100 });
});

afterAll(async () => {
  await router?.close();
  await server?.close();
  await backing?.cleanup();
});

function relayPod(model = 'neurino-tiny') {
  const spec = upstreamPodSpec({ name: model, vramMiB: 512 });
  const runtime = new OpenAIUpstreamRuntime({ baseUrl: server.baseUrl, model, slots: 1 });
  return { spec, podId: podIdOf(spec), runtime };
}

describe('a miner started beside its upstream', () => {
  it('waits for a server still loading its model, then serves the pod warm', async () => {
    server.failNext(503, 'Loading model');
    const pod = relayPod();
    const { logger, lines } = captureLogger();
    const { miner } = await startTestMiner(backing, router.url, {
      pods: [pod],
      logger,
      waitForPodsMs: 30_000,
    });
    try {
      const connection = await router.welcomedConnection(0);
      await connection.waitFor('capabilities', () => true);
      expect(connection.capabilities?.warmPods).toEqual([pod.podId]);
      const waited = lines.find((l) => String(l.msg).includes('is not ready'));
      expect(String(waited?.msg)).toContain('Loading model');
      expect(String(waited?.msg)).toContain('trying again in 1 s');
    } finally {
      await miner.stop();
      await pod.runtime.unload();
    }
  });

  it('fails at once without a wait, and at once whatever the wait for what the operator set wrong', async () => {
    server.failNext(503, 'Loading model');
    const loading = relayPod();
    await expect(startTestMiner(backing, router.url, { pods: [loading] })).rejects.toMatchObject({
      code: 'pod_load_failed',
    });
    await loading.runtime.unload();
    const wrong = relayPod('llama-3-70b');
    const started = Date.now();
    await expect(
      startTestMiner(backing, router.url, { pods: [wrong], waitForPodsMs: 30_000 }),
    ).rejects.toThrow(/does not serve llama-3-70b/);
    expect(Date.now() - started).toBeLessThan(1_000);
    await wrong.runtime.unload();
  });

  it('announces the pod cold when its server goes away, and warm again once it is back', async () => {
    const own = await startOpenAICompatibleServer(backing.runtime);
    const port = Number(new URL(own.baseUrl).port);
    const spec = upstreamPodSpec({ name: 'neurino-tiny', vramMiB: 512 });
    const pod = {
      spec,
      podId: podIdOf(spec),
      runtime: new OpenAIUpstreamRuntime({ baseUrl: own.baseUrl, model: 'neurino-tiny', slots: 1 }),
    };
    const { logger, lines } = captureLogger();
    const { miner } = await startTestMiner(backing, router.url, { pods: [pod], logger });
    let restarted: OpenAICompatibleServer | undefined;
    try {
      // The first test's miner was connection 0; the second test's never connected.
      const connection = await router.welcomedConnection(1);
      await connection.waitFor('capabilities', (m) => m.warmPods.includes(pod.podId));
      const chat = () =>
        connection.assign({
          podId: pod.podId,
          kind: 'chat',
          input: { model: 'neurino-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
        });
      await own.close();
      const from = connection.received.length;
      const failed = await chat();
      expect(failed.error).toMatchObject({ code: 'node_failed' });
      expect(failed.error?.message).toContain('ECONNREFUSED');
      await connection.waitFor('capabilities', (m) => !m.warmPods.includes(pod.podId), from);
      expect(lines.some((l) => String(l.msg).includes('its server is gone'))).toBe(true);
      restarted = await startOpenAICompatibleServer(backing.runtime, { port });
      await connection.waitFor('capabilities', (m) => m.warmPods.includes(pod.podId), from);
      expect(lines.some((l) => String(l.msg).includes('its server is back'))).toBe(true);
      const served = await chat();
      expect(served.result?.output).toBeDefined();
    } finally {
      await miner.stop();
      await pod.runtime.unload();
      await restarted?.close();
    }
  });
});
