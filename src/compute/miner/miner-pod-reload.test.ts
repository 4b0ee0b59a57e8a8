// A miner told to host another set of pods (its operator reloaded its configuration): new pods are loaded
// and announced with their slots, pods kept keep their runtime, and pods dropped leave the announcement at
// once and unload once their running jobs end.
import { describe, expect, it } from 'vitest';
import { podId as podIdOf } from '../../protocol/pod-spec.ts';
import { LlamaCppRuntime } from '../pods/llama-cpp.ts';
import { describeFile, ggufPodSpec } from './local-pods.ts';
import type { HostedPodConfig } from './pod-host.ts';
import { useTestMiner } from './testing/miner-fixture.ts';

const setup = useTestMiner();

/** The same model file as another pod: another name, another id, its own runtime of `slots`. */
async function otherPod(name: string, slots: number): Promise<HostedPodConfig> {
  const { modelPath } = setup.pod;
  const spec = ggufPodSpec({ name, ...(await describeFile(modelPath)) });
  return { spec, podId: podIdOf(spec), runtime: new LlamaCppRuntime({ modelPath, slots }) };
}

const chat = { model: 'x', messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 2, seed: 1 };

describe('Miner.updatePods', () => {
  it('loads and announces new pods, keeps the runtime of pods kept, and unloads pods dropped', async () => {
    const { pod, miner, connection } = setup;
    const before = connection.received.length;
    const other = await otherPod('tiny-other', 3);
    // The kept pod comes with a fresh runtime, as a reread configuration builds one: it is never used.
    const keptConfig = {
      spec: pod.spec,
      podId: pod.podId,
      runtime: new LlamaCppRuntime({ modelPath: pod.modelPath }),
    };
    const changes = await miner.updatePods([keptConfig, other]);
    expect(changes.added.map((p) => p.podId)).toEqual([other.podId]);
    expect(changes.kept.map((p) => p.runtime)).toEqual([pod.runtime]);
    expect(changes.removed).toEqual([]);
    expect(keptConfig.runtime.info().warm).toBe(false);
    const announced = await connection.waitFor(
      'capabilities',
      (c) => c.warmPods.length === 2 && c.slots.total === 5,
      before,
    );
    expect(new Set(announced.warmPods)).toEqual(new Set([pod.podId, other.podId]));
    expect(miner.state().slots.total).toBe(5);
    const served = await connection.assign({ podId: other.podId, kind: 'chat', input: chat });
    expect(served.checked?.ok).toBe(true);

    // Dropped: the pod leaves the announcement and its memory; a job for it is refused.
    const dropped = await miner.updatePods([other]);
    expect(dropped.removed.map((p) => p.podId)).toEqual([pod.podId]);
    await connection.waitFor('capabilities', (c) => c.warmPods.length === 1 && c.slots.total === 3, before);
    expect(pod.runtime.info().warm).toBe(false);
    const refused = await connection.assign({ podId: pod.podId, kind: 'chat', input: chat });
    expect(refused.error).toMatchObject({
      code: 'pod_load_failed',
      message: expect.stringMatching(/not configured on this node/),
    });
    expect(refused.result).toBeUndefined();

    // Nothing at all, or a bad set, changes nothing.
    await expect(miner.updatePods([])).rejects.toThrow('a miner needs at least one pod');
    await expect(miner.updatePods([other, other])).rejects.toThrow('is configured twice');
    expect(miner.state().warmPods).toEqual([other.podId]);
  });

  it('leaves the pods of a draining miner as they are', async () => {
    const { miner } = setup;
    const draining = miner.drain();
    await expect(miner.updatePods([await otherPod('tiny-late', 1)])).rejects.toThrow(
      'the miner is draining or stopped',
    );
    await draining;
  });
});
