import { describe, expect, it } from 'vitest';
import { isNeurinoError } from '../../protocol/errors.ts';
import type { Hardware } from './hardware/probe.ts';
import { defaultPodMemory, PodResidency, type ResidentPod } from './pod-residency.ts';

/** A pod as the residency sees it, whose load and unload take a turn of the event loop. */
class FakePod implements ResidentPod {
  loaded = false;
  lastUsed = Number.NEGATIVE_INFINITY;
  loads = 0;
  unloads = 0;
  #busy = false;
  #idleWaiters: Array<() => void> = [];

  get busy(): boolean {
    return this.#busy;
  }

  set busy(busy: boolean) {
    this.#busy = busy;
    if (!busy) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  constructor(
    readonly name: string,
    readonly residentMiB: number,
    readonly resident = true,
  ) {}

  async load(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.loaded = true;
    this.loads++;
  }

  /** As HostedPod's: once its running jobs end. */
  async unload(): Promise<void> {
    while (this.#busy) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    this.loaded = false;
    this.unloads++;
  }
}

const loadOf = (pod: FakePod) => () => pod.load();

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isNeurinoError(error)) throw new Error(`expected a NeurinoError, got ${String(error)}`);
  return error.code;
}

/** A budget of 10 MiB holding a (5) and b (4), with c (6) cold: c fits only once a goes. */
async function aAndBLoaded() {
  const residency = new PodResidency(10);
  const [a, b, c] = [new FakePod('a', 5), new FakePod('b', 4), new FakePod('c', 6)];
  const pods = [a, b, c];
  await residency.admit(a, () => pods, loadOf(a));
  await residency.admit(b, () => pods, loadOf(b));
  return { residency, a, b, c, pods };
}

describe('PodResidency', () => {
  it('loads pods that fit beside the loaded ones without unloading any', async () => {
    const residency = new PodResidency(10);
    const a = new FakePod('a', 4);
    const b = new FakePod('b', 6);
    await residency.admit(a, () => [a, b], loadOf(a));
    await residency.admit(b, () => [a, b], loadOf(b));
    expect([a.loaded, b.loaded, a.unloads]).toEqual([true, true, 0]);
    expect(residency.heldMiB([a, b])).toBe(10);
  });

  it('unloads the pods idle longest, and only as many as make room', async () => {
    const evicted: string[] = [];
    const residency = new PodResidency(10, (pod, forPod) => evicted.push(`${pod.name} for ${forPod.name}`));
    const [a, b, c, d] = [new FakePod('a', 3), new FakePod('b', 3), new FakePod('c', 3), new FakePod('d', 5)];
    const pods = [a, b, c, d];
    for (const pod of [a, b, c]) await residency.admit(pod, () => pods, loadOf(pod));
    a.lastUsed = 30;
    b.lastUsed = 10;
    c.lastUsed = 20;
    // 1 MiB free, 5 needed: b (used longest ago) then c go; a, used last, stays.
    await residency.admit(d, () => pods, loadOf(d));
    expect(evicted).toEqual(['b for d', 'c for d']);
    expect(pods.map((p) => p.loaded)).toEqual([true, false, false, true]);
  });

  it('refuses as busy, unloading nothing, when pods running jobs hold the room', async () => {
    const { residency, a, b, c, pods } = await aAndBLoaded();
    a.busy = true;
    // b alone (idle) frees 4 of the 5 missing: not enough, so b stays warm.
    const refused = residency.admit(c, () => pods, loadOf(c));
    expect(await codeOf(refused)).toBe('no_capacity');
    await expect(refused).rejects.toThrow(/c needs 6 MiB and 1 of the node's 10 MiB are free; .*\(a\)/);
    expect([a.loaded, b.loaded, c.loaded, b.unloads]).toEqual([true, true, false, 0]);
    a.busy = false;
    await residency.admit(c, () => pods, loadOf(c));
    expect([a.loaded, b.loaded, c.loaded]).toEqual([false, true, true]);
  });

  it("a job's load waits for the busy pod used longest ago to end its jobs, then unloads it", async () => {
    const { residency, a, b, c, pods } = await aAndBLoaded();
    [a.busy, a.lastUsed, b.busy, b.lastUsed] = [true, 10, true, 20];
    let loaded = false;
    const waiting = residency
      .admit(c, () => pods, loadOf(c), { wait: true })
      .then(() => {
        loaded = true;
      });
    // A later load waits its turn behind it.
    const after = residency.admit(b, () => pods, loadOf(b), { wait: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([loaded, c.loaded, a.unloads]).toEqual([false, false, 0]);
    a.busy = false;
    await waiting;
    await after;
    expect(pods.map((p) => p.loaded)).toEqual([false, true, true]);
    expect(b.unloads).toBe(0);
  });

  it('a preload (no eviction) loads only into free memory', async () => {
    const residency = new PodResidency(8);
    const [a, b] = [new FakePod('a', 5), new FakePod('b', 5)];
    await residency.admit(a, () => [a, b], loadOf(a), { evict: false });
    expect(await codeOf(residency.admit(b, () => [a, b], loadOf(b), { evict: false }))).toBe('no_capacity');
    expect([a.loaded, b.loaded]).toEqual([true, false]);
  });

  it('a pod larger than the whole budget cannot load; one holding no memory here is not counted', async () => {
    const residency = new PodResidency(8);
    const big = new FakePod('big', 9);
    expect(residency.misfit(big)).toMatch(/big needs 9 MiB, more than the 8 MiB/);
    expect(await codeOf(residency.admit(big, () => [big], loadOf(big)))).toBe('pod_load_failed');
    const upstream = new FakePod('upstream', 100, false);
    const local = new FakePod('local', 8);
    expect(residency.misfit(upstream)).toBeUndefined();
    await residency.admit(upstream, () => [upstream, local], loadOf(upstream));
    await residency.admit(local, () => [upstream, local], loadOf(local));
    expect([upstream.loaded, local.loaded]).toEqual([true, true]);
    expect(residency.heldMiB([upstream, local])).toBe(8);
  });

  it('runs loads one at a time, so two cannot both take the same free memory', async () => {
    const residency = new PodResidency(10);
    const [a, b] = [new FakePod('a', 6), new FakePod('b', 6)];
    const pods = [a, b];
    a.busy = true; // once loaded, a job holds it
    const first = residency.admit(a, () => pods, loadOf(a));
    const second = residency.admit(b, () => pods, loadOf(b));
    await first;
    expect(await codeOf(second)).toBe('no_capacity');
    expect([a.loaded, b.loaded]).toEqual([true, false]);
  });

  it('a load whose job was stopped while it waited its turn unloads nothing', async () => {
    const residency = new PodResidency(10);
    const [a, b, c] = [new FakePod('a', 6), new FakePod('b', 4), new FakePod('c', 6)];
    const pods = [a, b, c];
    await residency.admit(a, () => pods, loadOf(a));
    const stopped = new AbortController();
    const first = residency.admit(b, () => pods, loadOf(b));
    const waiting = residency.admit(c, () => pods, loadOf(c), { signal: stopped.signal });
    stopped.abort(new Error('job cancelled'));
    await first;
    await expect(waiting).rejects.toThrow('job cancelled');
    expect(pods.map((p) => p.loaded)).toEqual([true, true, false]);
    expect(a.unloads + b.unloads).toBe(0);
  });

  it('refuses instead of unloading forever when an unload frees nothing', async () => {
    const residency = new PodResidency(10);
    const [stuck, b] = [new FakePod('stuck', 6), new FakePod('b', 6)];
    await residency.admit(stuck, () => [stuck, b], loadOf(stuck));
    stuck.unload = async () => {}; // a runtime that stays loaded
    expect(await codeOf(residency.admit(b, () => [stuck, b], loadOf(b), { wait: true }))).toBe('no_capacity');
  });

  it('a failed load does not stop the loads after it', async () => {
    const residency = new PodResidency(10);
    const a = new FakePod('a', 4);
    const failing = residency.admit(
      a,
      () => [a],
      () => Promise.reject(new Error('bad GGUF')),
    );
    await expect(failing).rejects.toThrow('bad GGUF');
    await residency.admit(a, () => [a], loadOf(a));
    expect(a.loaded).toBe(true);
  });

  it('refuses a budget that is not positive', () => {
    expect(() => new PodResidency(0)).toThrow(RangeError);
    expect(() => new PodResidency(Number.NaN)).toThrow(RangeError);
  });
});

describe('defaultPodMemory', () => {
  const cpuNode: Hardware = { gpus: [], cpu: { model: 'x', cores: 8 }, ramMiB: 32_000, warnings: [] };
  const gpu = { name: 'NVIDIA GeForce RTX 4090', vramMiB: 24_564 };

  it("is a CPU node's RAM, and its GPUs' VRAM less what other processes hold on a GPU node", () => {
    expect(defaultPodMemory(cpuNode)).toEqual({ budgetMiB: 32_000, source: "the node's RAM" });
    const gpuNode = { ...cpuNode, gpus: [gpu, { ...gpu, vramMiB: 8_192 }] };
    expect(defaultPodMemory(gpuNode)).toEqual({ budgetMiB: 32_756, source: 'the VRAM of its 2 GPUs' });
    expect(defaultPodMemory({ ...gpuNode, gpus: [gpu] })).toEqual({
      budgetMiB: 24_564,
      source: "the GPU's VRAM",
    });
    expect(defaultPodMemory({ ...gpuNode, freeVramMiB: 30_000 })).toEqual({
      budgetMiB: 30_000,
      source: 'the VRAM other processes left free at start',
    });
    // A GPU another process fills leaves the pods nothing (at least 1 MiB, so the budget stays a budget).
    expect(defaultPodMemory({ ...gpuNode, freeVramMiB: 0 }).budgetMiB).toBe(1);
  });
});
