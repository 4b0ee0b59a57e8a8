// PodHost's memory budget as jobs see it: a cold pod's first job unloads the pods idle longest, or waits for
// those running jobs to end them, and the node hears at once which pods turned cold.
// The runtimes are scripted (their jobs end when the test says), so "running" is exact; the miner's tests
// do the same with the real tiny model (miner-pod-memory.test.ts).
import { describe, expect, it } from 'vitest';
import { isNeurinoError } from '../../protocol/errors.ts';
import { podId } from '../../protocol/pod-spec.ts';
import type { PodRuntime, PodRuntimeInfo } from '../pods/runtime.ts';
import { ggufPodSpec, upstreamPodSpec } from './local-pods.ts';
import { type HostedPod, type HostedPodConfig, PodHost } from './pod-host.ts';

class ScriptedRuntime implements PodRuntime {
  warm = false;
  loads = 0;

  constructor(private readonly kind: PodRuntimeInfo['runtime'] = 'llama-cpp') {}

  async load(): Promise<void> {
    this.warm = true;
    this.loads++;
  }

  async unload(): Promise<void> {
    this.warm = false;
  }

  info(): PodRuntimeInfo {
    const { warm } = this;
    return {
      runtime: this.kind,
      model: 'm',
      contextSize: 64,
      warm,
      slots: 1,
      activeJobs: 0,
      embeddingSize: null,
    };
  }

  chat(): never {
    throw new Error('not used');
  }

  complete(): never {
    throw new Error('not used');
  }

  embed(): never {
    throw new Error('not used');
  }
}

function podConfig(name: string, memoryMiB: number): HostedPodConfig & { runtime: ScriptedRuntime } {
  const spec = ggufPodSpec({ name, fileName: `${name}.gguf`, sha256: 'ab'.repeat(32), bytes: 1 });
  return { spec, podId: podId(spec), runtime: new ScriptedRuntime(), memoryMiB };
}

/** A job on `pod` that runs until `end` is called. */
function holdJob(pod: HostedPod): { running: Promise<void>; end: () => void } {
  let end = () => {};
  const released = new Promise<void>((resolve) => {
    end = resolve;
  });
  const running = pod.run(new AbortController().signal, () => released);
  return { running, end };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function errorCodeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isNeurinoError(error) ? error.code : String(error);
}

/** Two pods of 600 MiB on a node whose pods may hold 1000: one fits at a time. */
function twoPods() {
  const [a, b] = [podConfig('a', 600), podConfig('b', 600)];
  const evicted: string[] = [];
  const host = new PodHost([a, b], {
    memoryMiB: 1000,
    onEvicted: (p, f) => evicted.push(`${p.name}>${f.name}`),
  });
  return { a, b, host, evicted, podA: host.get(a.podId) as HostedPod, podB: host.get(b.podId) as HostedPod };
}

describe('PodHost memory budget', () => {
  it("a cold pod's job unloads the idle pod to make room, and the node hears it at once", async () => {
    const { a, b, host, evicted, podA, podB } = twoPods();
    let changes = 0;
    host.onWarmChange(() => changes++);
    await podA.load(undefined, { evict: false });
    expect(host.heldMiB).toBe(600);
    expect(await errorCodeOf(podB.load(undefined, { evict: false }))).toBe('no_capacity');

    await podB.run(new AbortController().signal, async () => undefined);
    expect(evicted).toEqual(['a>b']);
    expect(changes).toBe(1);
    expect(host.warmPodIds()).toEqual([b.podId]);
    expect([a.runtime.warm, b.runtime.warm, host.heldMiB]).toEqual([false, true, 600]);
  });

  it("a cold pod's job waits for the pod holding the memory to end its job, which takes no new one meanwhile", async () => {
    const { a, b, evicted, podA, podB } = twoPods();
    const job = holdJob(podA);
    await tick();
    expect(a.runtime.warm).toBe(true);
    const order: string[] = [];
    const forB = podB.run(new AbortController().signal, async () => order.push('b'));
    await tick();
    // a is on its way out: not announced, and its next job waits to load it again after b's.
    expect(podA.warm).toBe(false);
    const againA = podA.run(new AbortController().signal, async () => order.push('a again'));
    await tick();
    expect([order, b.runtime.warm]).toEqual([[], false]);
    job.end();
    await Promise.all([job.running, forB, againA]);
    expect(order).toEqual(['b', 'a again']);
    expect(evicted).toEqual(['a>b', 'b>a']);
    expect([a.runtime.loads, b.runtime.loads]).toEqual([2, 1]);
  });

  it("a job waiting to load a pod does not hold up that pod's unload (no deadlock when loads queue)", async () => {
    const [a, b, c] = [podConfig('a', 600), podConfig('b', 600), podConfig('c', 600)];
    const host = new PodHost([a, b, c], { memoryMiB: 1000 });
    const [podA, podB, podC] = [a, b, c].map((p) => host.get(p.podId) as HostedPod) as [
      HostedPod,
      HostedPod,
      HostedPod,
    ];
    const signal = new AbortController().signal;
    const jobA = holdJob(podA);
    await tick();
    // b1 waits for a's job to end; c1 queues behind it; b2 queues behind c1, waiting to load b.
    const order: string[] = [];
    const b1 = podB.run(signal, async () => order.push('b1'));
    const c1 = podC.run(signal, async () => order.push('c1'));
    const b2 = podB.run(signal, async () => order.push('b2'));
    await tick();
    jobA.end();
    // c1's load unloads b while b2 waits in the queue: b2 must not count as running on b.
    const stuck = new Promise((_, reject) => setTimeout(() => reject(new Error('deadlocked')), 2_000));
    await Promise.race([Promise.all([jobA.running, b1, c1, b2]), stuck]);
    expect(order).toEqual(['b1', 'c1', 'b2']);
  });

  it('a job waiting its turn to load stops at its cancel', async () => {
    const { podA, podB } = twoPods();
    const jobA = holdJob(podA);
    await tick();
    const cancel = new AbortController();
    const waiting = podB.run(cancel.signal, async () => 'ran');
    await tick();
    cancel.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    jobA.end();
    await jobA.running;
    expect(podB.busy).toBe(false);
  });

  it('a job for a pod being unloaded waits for the unload, then loads it again; or stops when cancelled', async () => {
    const a = podConfig('a', 100);
    const host = new PodHost([a], { memoryMiB: 1000 });
    const podA = host.get(a.podId) as HostedPod;
    const job = holdJob(podA);
    await tick();
    const unloading = podA.unload();
    expect(podA.warm).toBe(false);
    const next = podA.run(new AbortController().signal, async () => 'ran');
    const cancel = new AbortController();
    const cancelled = podA.run(cancel.signal, async () => 'ran too');
    cancel.abort(new Error('job cancelled'));
    await expect(cancelled).rejects.toThrow('job cancelled');
    job.end();
    await Promise.all([job.running, unloading]);
    expect(await next).toBe('ran');
    expect(a.runtime.loads).toBe(2);
  });

  it('a load the router asks for is refused as busy while pods running jobs hold the room', async () => {
    const { a, b, podA, podB } = twoPods();
    const job = holdJob(podA);
    await tick();
    const refused = podB.load();
    expect(await errorCodeOf(refused)).toBe('no_capacity');
    await expect(refused).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/\(a\)/) });
    expect([a.runtime.warm, b.runtime.warm]).toEqual([true, false]);
    job.end();
    await job.running;
  });

  it('counts a removed pod until its last job ends and it unloads', async () => {
    const [a, b] = [podConfig('a', 600), podConfig('b', 600)];
    const host = new PodHost([a], { memoryMiB: 1000 });
    const podA = host.get(a.podId) as HostedPod;
    const job = holdJob(podA);
    await tick();
    const changes = host.replace([b]);
    expect(changes.removed).toEqual([podA]);
    expect(host.heldMiB).toBe(600);
    const podB = host.get(b.podId) as HostedPod;
    expect(await errorCodeOf(podB.load())).toBe('no_capacity');
    const unloading = podA.unload();
    job.end();
    await Promise.all([job.running, unloading]);
    expect(host.heldMiB).toBe(0);
    await podB.load();
    expect(host.heldMiB).toBe(600);
  });

  it('counts a removed pod whose job was waiting for room once that job loads it', async () => {
    const { a, b, host, podA, podB } = twoPods();
    const jobA = holdJob(podA);
    await tick();
    const jobB = holdJob(podB);
    await tick();
    host.replace([a]);
    jobA.end();
    await jobA.running;
    await expect.poll(() => b.runtime.warm).toBe(true);
    expect(host.heldMiB).toBe(600);
    expect(await errorCodeOf(podA.load())).toBe('no_capacity');
    const unloading = podB.unload();
    jobB.end();
    await Promise.all([jobB.running, unloading]);
    expect(host.heldMiB).toBe(0);
  });

  it('refuses a pod larger than the budget; pods of an upstream server are outside it', async () => {
    expect(() => new PodHost([podConfig('huge', 2000)], { memoryMiB: 1000 })).toThrow(
      'pod huge needs 2000 MiB, more than the 1000 MiB',
    );
    const host = new PodHost([podConfig('a', 600)], { memoryMiB: 1000 });
    expect(() => host.replace([podConfig('a', 600), podConfig('huge', 2000)])).toThrow('pod huge needs');
    expect(host.list().map((p) => p.name)).toEqual(['a']);

    const spec = upstreamPodSpec({ name: 'big-upstream', vramMiB: 80_000 });
    const upstream = { spec, podId: podId(spec), runtime: new ScriptedRuntime('openai-upstream') };
    const mixed = new PodHost([upstream, podConfig('a', 900)], { memoryMiB: 1000 });
    for (const pod of mixed.list()) await pod.load(undefined, { evict: false });
    expect(mixed.warmPodIds()).toHaveLength(2);
    expect(mixed.heldMiB).toBe(900);
  });

  it("counts a pod by its runtime's estimate (weights and context) in the budget, and bills the spec's memory", async () => {
    const estimated = (name: string, totalMiB: number) => ({
      ...podConfig(name, 400),
      memoryEstimate: { totalMiB, detail: `weights 400 MiB, 2 slots × 8,192 tokens ${totalMiB - 400} MiB` },
    });
    expect(() => new PodHost([estimated('long-context', 1200)], { memoryMiB: 1000 })).toThrow(
      'pod long-context needs 1200 MiB (weights 400 MiB, 2 slots × 8,192 tokens 800 MiB), more than the 1000 MiB',
    );
    // Two pods of 400 MiB of weights would fit in 1000 MiB; with their context, only one does.
    const host = new PodHost([estimated('a', 600), estimated('b', 600)], { memoryMiB: 1000 });
    const [a, b] = host.list() as [HostedPod, HostedPod];
    expect([a.memoryMiB, a.residentMiB]).toEqual([400, 600]);
    await a.load(undefined, { evict: false });
    await expect(b.load(undefined, { evict: false })).rejects.toMatchObject({ code: 'no_capacity' });
    await b.load();
    expect(host.warmPodIds()).toEqual([b.podId]);
    expect(host.heldMiB).toBe(600);
  });

  it('refuses more pods than a capabilities frame can list', () => {
    const many = Array.from({ length: 257 }, (_, i) => podConfig(`p${i}`, 1));
    expect(() => new PodHost(many)).toThrow('a node hosts at most 256 pods, got 257');
  });

  it('without a budget every pod loads', async () => {
    const host = new PodHost([podConfig('a', 60_000), podConfig('b', 60_000)]);
    for (const pod of host.list()) await pod.load(undefined, { evict: false });
    expect(host.warmPodIds()).toHaveLength(2);
    expect(host.memoryMiB).toBe(Number.POSITIVE_INFINITY);
  });
});
