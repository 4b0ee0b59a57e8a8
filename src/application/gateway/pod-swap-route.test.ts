// One node whose memory holds one of its three models at a time (a real miner on the tiny model, its pods'
// memory budget set so), behind the gateway: the official client asks for all of them at once, and
// every request is answered by the model it named, the node swapping them as jobs come (the job for the
// cold model waits for the other's running jobs), each charged once.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { describeFile, ggufPodSpec } from '../../compute/miner/local-pods.ts';
import type { Miner } from '../../compute/miner/miner.ts';
import type { HostedPodConfig } from '../../compute/miner/pod-host.ts';
import { startTestMiner, type TinyPod, tinyPod } from '../../compute/miner/testing/miner-fixture.ts';
import { LlamaCppRuntime } from '../../compute/pods/llama-cpp.ts';
import { podId } from '../../protocol/pod-spec.ts';
import { type GatewayHarness, minerAccount, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(7).address;
let pod: TinyPod;
let pods: HostedPodConfig[];
let h: GatewayHarness;
let miner: Miner;
let lines: { msg: string }[];
let client: OpenAI;

beforeAll(async () => {
  pod = await tinyPod();
  pods = [];
  for (const name of ['tiny-first', 'tiny-second', 'tiny-third']) {
    const spec = ggufPodSpec({ name, ...(await describeFile(pod.modelPath)) });
    const runtime = new LlamaCppRuntime({ modelPath: pod.modelPath, slots: 2 });
    pods.push({ spec, podId: podId(spec), runtime, memoryMiB: 600 });
  }
  // Twelve jobs queue for one node's two slots and its model swaps: on a busy machine the last waits
  // longer than the harness's default 2 s, which this test is not about.
  h = await startGatewayHarness({ specs: pods.map((p) => p.spec), maxQueueMs: 60_000 });
  ({ miner, lines } = await startTestMiner(pod, h.wsUrl, {
    account: minerAccount(0),
    pods,
    memoryMiB: 1000,
  }));
  await h.nodesAvailable(1);
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.key(developer), maxRetries: 0 });
});

afterAll(async () => {
  await miner?.stop();
  await h?.close();
  for (const config of pods ?? []) await config.runtime.unload();
  await pod?.cleanup();
});

describe('a node swapping its models as requests come', () => {
  it('answers every request with the model it named, each charged once', async () => {
    const models = ['tiny-first', 'tiny-second', 'tiny-third'];
    const requests = Array.from({ length: 12 }, (_, i) => ({
      model: models[i % 3] as string,
      messages: [{ role: 'user' as const, content: `Hello ${i}` }],
      max_tokens: 12,
      seed: i,
    }));
    const answers = await Promise.all(requests.map((body) => client.chat.completions.create(body)));
    expect(answers.map((a) => a.model)).toEqual(requests.map((r) => r.model));
    for (const answer of answers) expect(answer.usage?.completion_tokens).toBeGreaterThan(0);
    // The models were loaded in turn, never two at once.
    const unloaded = lines.map((l) => l.msg).filter((m) => m.includes('unloaded to make room'));
    expect(unloaded.length).toBeGreaterThan(0);
    expect(miner.state().podMemory.heldMiB).toBe(600);
    await h.metering.flush();
    const [row] = await h.store.query<{ n: unknown; jobs: unknown }>(
      'select count(*) as n, count(distinct job_id) as jobs from receipts where payer = $1',
      [developer],
    );
    expect([Number(row?.n), Number(row?.jobs)]).toEqual([12, 12]);
    expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
  });
});
