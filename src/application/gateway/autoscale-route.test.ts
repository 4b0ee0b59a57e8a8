// The router's autoscaler with a real miner on the tiny model behind the gateway: a pod whose spec keeps
// one node warm is loaded ahead of any request; a pod a request warmed is unloaded once idle past the
// scale-down time, and the next request loads it again; a pod the node does not host is never asked for.
import OpenAI from 'openai';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { describeFile, ggufPodSpec } from '../../compute/miner/local-pods.ts';
import type { Miner } from '../../compute/miner/miner.ts';
import type { HostedPodConfig } from '../../compute/miner/pod-host.ts';
import { startTestMiner, type TinyPod, tinyPod } from '../../compute/miner/testing/miner-fixture.ts';
import { LlamaCppRuntime } from '../../compute/pods/llama-cpp.ts';
import { Autoscaler } from '../../orchestration/router/autoscaler.ts';
import { type PodSpec, podId } from '../../protocol/pod-spec.ts';
import { captureLogger } from '../../protocol/testing/capture-logger.ts';
import { type GatewayHarness, minerAccount, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(7).address;
const IDLE_MS = 60_000;
let pod: TinyPod;
let pods: HostedPodConfig[];
let notHosted: PodSpec;
let h: GatewayHarness;
let miner: Miner;
let autoscaler: Autoscaler;
let lines: { msg: string }[];
/** The autoscaler's clock runs this far ahead of the real one: time passing without waiting for it. */
let ahead = 0;

async function spec(name: string, min: number): Promise<PodSpec> {
  const built = ggufPodSpec({ name, ...(await describeFile(pod.modelPath)) });
  return { ...built, autoscale: { min, max: 64 } };
}

const idOf = (name: string): Hex => pods.find((p) => p.spec.name === name)?.podId as Hex;
const warmOnNode = () => [...(h.hub.session(minerAccount(0).address)?.warmPods ?? [])];

beforeAll(async () => {
  pod = await tinyPod();
  pods = [];
  for (const [name, min] of [
    ['tiny-kept', 1],
    ['tiny-on-demand', 0],
  ] as const) {
    const runtime = new LlamaCppRuntime({ modelPath: pod.modelPath, slots: 1 });
    const podSpec = await spec(name, min);
    pods.push({ spec: podSpec, podId: podId(podSpec), runtime });
  }
  notHosted = await spec('tiny-elsewhere', 1);
  h = await startGatewayHarness({ specs: [...pods.map((p) => p.spec), notHosted] });
  ({ miner } = await startTestMiner(pod, h.wsUrl, { account: minerAccount(0), pods, preload: false }));
  await h.nodesAvailable(1);
  const captured = captureLogger();
  lines = captured.lines;
  autoscaler = new Autoscaler({
    hub: h.hub,
    scheduler: h.scheduler,
    catalog: h.catalog,
    logger: captured.logger,
    scaleDownIdleMs: IDLE_MS,
    now: () => Date.now() + ahead,
  });
});

afterAll(async () => {
  autoscaler?.stop();
  await miner?.stop();
  await h?.close();
  for (const config of pods ?? []) await config.runtime.unload();
  await pod?.cleanup();
});

describe('the autoscaler', () => {
  it('loads a pod kept warm by its spec before any request, and only that one', async () => {
    expect(warmOnNode()).toEqual([]);
    const sent = autoscaler.tick();
    expect(sent.map((a) => [a.kind, a.podId])).toEqual([['load', idOf('tiny-kept')]]);
    await expect.poll(warmOnNode).toEqual([idOf('tiny-kept')]);
    expect(miner.state().warmPods).toEqual([idOf('tiny-kept')]);
    // Warm as its spec asks: nothing more to do; the pod the node does not host is never asked for.
    expect(autoscaler.tick()).toEqual([]);
    expect(lines.map((l) => l.msg)).toContainEqual(
      expect.stringMatching(/^asked 0x[0-9a-fA-F]{40} to load tiny-kept: autoscale.min is 1$/),
    );
  });

  it('unloads a pod idle past the scale-down time, down to its minimum; a request loads it again', async () => {
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.key(developer), maxRetries: 0 });
    const ask = () =>
      client.chat.completions.create({
        model: 'tiny-on-demand',
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: 4,
        seed: 1,
      });
    expect((await ask()).model).toBe('tiny-on-demand');
    await expect.poll(() => warmOnNode().length).toBe(2);
    // Just used: it stays.
    expect(autoscaler.tick()).toEqual([]);
    ahead = IDLE_MS + 1_000;
    const sent = autoscaler.tick();
    // The kept pod is as idle, but its spec keeps one node warm.
    expect(sent.map((a) => [a.kind, a.podId, a.reason])).toEqual([
      ['unload', idOf('tiny-on-demand'), expect.stringMatching(/^idle \d+ s$/)],
    ]);
    await expect.poll(warmOnNode).toEqual([idOf('tiny-kept')]);
    expect(miner.state().warmPods).toEqual([idOf('tiny-kept')]);
    expect(autoscaler.tick()).toEqual([]);
    // Cold again, not gone: the next request loads it.
    expect((await ask()).model).toBe('tiny-on-demand');
    await expect.poll(() => warmOnNode().length).toBe(2);
    expect(autoscaler.requests).toEqual({ load: 1, unload: 1 });
  });
});
