// The autoscaler's bookkeeping against scripted sessions: what it asks once, what it forgets, whom it skips.
// (With a real miner behind the gateway: application/gateway/autoscale-route.test.ts.)
import { type Address, getAddress, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import type { Capabilities } from '../../protocol/messages/node-state.ts';
import { podId } from '../../protocol/pod-spec.ts';
import { captureLogger } from '../../protocol/testing/capture-logger.ts';
import { samplePodSpec } from '../../protocol/testing/samples.ts';
import { Autoscaler } from './autoscaler.ts';
import type { HubListener } from './miner-hub.ts';
import type { MinerSession } from './miner-session.ts';
import { PodCatalog } from './pod-catalog.ts';
import { PodDemand } from './pod-demand.ts';
import type { SessionChange } from './session-events.ts';

const spec = samplePodSpec({ name: 'kept', minVramMiB: 1_024, software: {}, autoscale: { min: 1, max: 4 } });
const id = podId(spec);
const address = (i: number): Address => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`);

class ScriptedSession {
  readonly warmPods = new Set<Hex>();
  closed = false;
  draining = false;
  sent: string[] = [];
  accepts = true;
  capabilities: Partial<Capabilities> = {
    gpus: [],
    ramMiB: 8_192,
    efficiency: 10,
    runtimes: ['llama-cpp'],
    podMemory: { budgetMiB: 8_192, heldMiB: 0 },
    slots: { total: 2, free: 2 },
  };
  constructor(readonly node: Address) {}
  /** Jobs running here, by pod. */
  readonly running = new Map<Hex, number>();
  assignedAt: number | undefined;
  podAssignedAt(): number | undefined {
    return this.assignedAt;
  }
  runsPod(podId: Hex): boolean {
    return (this.running.get(podId) ?? 0) > 0;
  }
  slotsFor(podId: Hex): number {
    let others = 0;
    for (const [pod, jobs] of this.running) if (pod !== podId) others += jobs;
    return Math.max(0, (this.capabilities.slots?.total ?? 0) - others);
  }
  loadPod(podId: Hex): boolean {
    this.sent.push(`load ${podId === id ? 'kept' : podId}`);
    return this.accepts;
  }
  unloadPod(podId: Hex): boolean {
    this.sent.push(`unload ${podId === id ? 'kept' : podId}`);
    return this.accepts;
  }
}

function setup(count: number, specs = [spec]) {
  const sessions = Array.from({ length: count }, (_, i) => new ScriptedSession(address(i)));
  const listeners = new Set<HubListener>();
  const suspended = new Set<Address>();
  let now = 1_000_000;
  /** The pod's jobs as the dispatcher counts them, on the test's clock. */
  const demand = new PodDemand(() => now);
  const autoscaler = new Autoscaler({
    hub: {
      sessions: () => sessions as unknown as MinerSession[],
      subscribe: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    scheduler: { isSuspended: (node) => suspended.has(node), rankedEfficiency: () => undefined },
    catalog: new PodCatalog(specs),
    demand: { demand: (pod) => demand.of(pod) },
    busyShare: 0.7,
    logger: captureLogger().logger,
    scaleDownIdleMs: 300_000,
    answerTimeoutMs: 60_000,
    refusalBackoffMs: 30_000,
    now: () => now,
  });
  const tell = (session: ScriptedSession, change: SessionChange) => {
    for (const listener of listeners) listener(session as unknown as MinerSession, change);
  };
  const advance = (ms: number) => {
    now += ms;
  };
  return { sessions, autoscaler, tell, advance, suspended, demand };
}

describe('Autoscaler', () => {
  it('asks once until the node answers; a node that refused is asked again only after the back-off', () => {
    const { sessions, autoscaler, tell, advance } = setup(2);
    const [first, second] = sessions as [ScriptedSession, ScriptedSession];
    second.capabilities = { ...second.capabilities, efficiency: 100 };
    expect(autoscaler.tick().map((a) => a.node)).toEqual([second.node]);
    expect(autoscaler.tick()).toEqual([]);
    // It could not: the next best is asked, and the one that refused waits out the back-off.
    tell(second, { kind: 'pod.failed', podId: id, code: 'no_capacity' });
    expect(autoscaler.tick().map((a) => a.node)).toEqual([first.node]);
    tell(first, { kind: 'pod.failed', podId: id, code: 'pod_load_failed' });
    expect(autoscaler.tick()).toEqual([]);
    advance(30_000);
    expect(autoscaler.tick().map((a) => a.node)).toEqual([second.node]);
    // Loaded: nothing more is asked.
    second.warmPods.add(id);
    tell(second, { kind: 'pod.loaded', podId: id });
    advance(120_000);
    expect(autoscaler.tick()).toEqual([]);
    expect(second.sent).toEqual(['load kept', 'load kept']);
    expect(autoscaler.pods()).toEqual([
      {
        podId: id,
        name: 'kept',
        models: ['kept'],
        runtime: 'llama-cpp',
        warm: 1,
        target: 1,
        min: 1,
        max: 4,
        running: 0,
        queued: 0,
      },
    ]);
    expect(autoscaler.requests).toEqual({ load: 3, unload: 0 });
  });

  it("loads the pod on more nodes once its jobs would fill more than the share of the warm nodes' slots, up to max", () => {
    const { sessions, autoscaler, tell, advance, demand } = setup(6);
    sessions.forEach((s, i) => {
      s.capabilities = { ...s.capabilities, efficiency: 10 + i };
    });
    const [first] = sessions as [ScriptedSession];
    first.warmPods.add(id);
    // One job on a warm node of 2 slots: half of them busy, under 70 %. (At the first look, the jobs now.)
    demand.started(id);
    expect(autoscaler.tick()).toEqual([]);
    expect(autoscaler.pods()[0]).toMatchObject({ warm: 1, target: 1 });
    // Two through the next interval: the slots would be full; one more node, the most efficient.
    demand.started(id);
    advance(5_000);
    const sent = autoscaler.tick();
    expect(sent.map((a) => [a.node, a.reason])).toEqual([
      [sessions[5]?.node, "2 jobs at once would keep more than 70 % of the warm nodes' slots busy"],
    ]);
    expect(autoscaler.pods()[0]).toMatchObject({ warm: 1, target: 2 });
    // Asked once while it loads.
    expect(autoscaler.tick()).toEqual([]);
    sessions[5]?.warmPods.add(id);
    tell(sessions[5] as ScriptedSession, { kind: 'pod.loaded', podId: id });
    // Jobs waiting count as well; the spec's max (4) bounds the target.
    for (let i = 0; i < 20; i++) demand.waitStarted(id);
    advance(5_000);
    expect(autoscaler.tick().map((a) => a.node)).toEqual([sessions[4]?.node, sessions[3]?.node]);
    expect(autoscaler.pods()[0]).toMatchObject({ target: 4, running: 2, queued: 20 });
  });

  it("counts only the slots other pods' jobs leave free on the warm nodes", () => {
    const busy = samplePodSpec({
      name: 'busy',
      minVramMiB: 1_024,
      software: {},
      autoscale: { min: 0, max: 4 },
    });
    const { sessions, autoscaler, advance, demand } = setup(3, [spec, busy]);
    const [shared, idle] = sessions as [ScriptedSession, ScriptedSession];
    shared.warmPods.add(id).add(podId(busy));
    idle.capabilities = { ...idle.capabilities, efficiency: 50 };
    // One job waiting, the warm node's two slots free for it: half of them, under 70 %.
    demand.waitStarted(id);
    expect(autoscaler.tick()).toEqual([]);
    // The other pod's two jobs fill that node: the job has no slot there, so one more node loads it.
    shared.running.set(podId(busy), 2);
    advance(5_000);
    expect(autoscaler.tick().map((a) => [a.node, a.podId, a.reason])).toEqual([
      [idle.node, id, "1 job at once would keep more than 70 % of the warm nodes' slots busy"],
    ]);
    expect(autoscaler.pods().find((p) => p.podId === id)).toMatchObject({ warm: 1, target: 2, queued: 1 });
  });

  it('sizes by the jobs on average between two looks, not by those running at the look', () => {
    const { sessions, autoscaler, advance, demand } = setup(4);
    sessions[0]?.warmPods.add(id);
    expect(autoscaler.tick()).toEqual([]);
    // Four jobs ran 4.5 s of the 5 s between two looks and ended before the second: 3.6 at once.
    for (let i = 0; i < 4; i++) demand.started(id);
    advance(4_500);
    for (let i = 0; i < 4; i++) demand.ended(id);
    advance(500);
    const sent = autoscaler.tick();
    expect(sent.map((a) => a.reason)).toEqual([
      "3.6 jobs at once would keep more than 70 % of the warm nodes' slots busy",
      "3.6 jobs at once would keep more than 70 % of the warm nodes' slots busy",
    ]);
    expect(autoscaler.pods()[0]).toMatchObject({ target: 3 });
    // A quiet interval: back to the spec's minimum (the loaded nodes go once idle long enough).
    advance(5_000);
    expect(autoscaler.tick()).toEqual([]);
    expect(autoscaler.pods()[0]).toMatchObject({ target: 1 });
  });

  it('keeps the nodes its jobs need warm however idle, and unloads the rest down to autoscale.min', () => {
    const { sessions, autoscaler, advance, demand } = setup(4);
    for (const session of sessions) session.warmPods.add(id);
    expect(autoscaler.tick()).toEqual([]);
    // Four jobs all along need three nodes of 2 slots at 70 %: one node goes.
    for (let i = 0; i < 4; i++) demand.started(id);
    advance(400_000);
    expect(autoscaler.tick().map((a) => a.kind)).toEqual(['unload']);
    for (const session of sessions) if (session.sent.length > 0) session.warmPods.delete(id);
    // No jobs since: down to the spec's one.
    for (let i = 0; i < 4; i++) demand.ended(id);
    advance(5_000);
    expect(autoscaler.tick().map((a) => a.kind)).toEqual(['unload', 'unload']);
    expect(autoscaler.pods()[0]).toMatchObject({ target: 1 });
  });

  it('sizes only by autoscale.min without a busy share', () => {
    const spec2 = samplePodSpec({
      name: 'plain',
      minVramMiB: 1,
      software: {},
      autoscale: { min: 0, max: 4 },
    });
    const sessions = [new ScriptedSession(address(0)), new ScriptedSession(address(1))];
    sessions[0]?.warmPods.add(podId(spec2));
    const autoscaler = new Autoscaler({
      ...autoscalerOptions(sessions),
      catalog: new PodCatalog([spec2]),
      demand: { demand: () => ({ running: 50, queued: 50, jobMs: 1e9, at: 1e6 }) },
    });
    expect(autoscaler.tick()).toEqual([]);
    expect(autoscaler.pods()[0]).toMatchObject({ warm: 1, target: 0 });
    expect(() => new Autoscaler({ ...autoscalerOptions(sessions), busyShare: 0 })).toThrow(
      'busyShare must be above 0 and at most 1, not 0',
    );
    expect(() => new Autoscaler({ ...autoscalerOptions(sessions), busyShare: 1.5 })).toThrow(RangeError);
  });

  it('does not unload a pod from a node running its job, however long ago the job was assigned', () => {
    const { sessions, autoscaler, advance } = setup(3);
    const [long, idle, recent] = sessions as [ScriptedSession, ScriptedSession, ScriptedSession];
    for (const session of sessions) session.warmPods.add(id);
    expect(autoscaler.tick()).toEqual([]);
    long.assignedAt = 1_000_000;
    long.running.set(id, 1);
    advance(400_000);
    recent.assignedAt = 1_000_000 + 350_000;
    // The spec keeps one: of the other two only the idle one goes, not the one 400 s into its job.
    expect(autoscaler.tick().map((a) => [a.kind, a.node])).toEqual([['unload', idle.node]]);
    long.running.delete(id);
    idle.warmPods.delete(id);
    advance(1_000);
    expect(autoscaler.tick().map((a) => [a.kind, a.node])).toEqual([['unload', long.node]]);
  });

  it('asks again when a node never answers, and forgets a node that left', () => {
    const { sessions, autoscaler, tell, advance } = setup(1);
    const [only] = sessions as [ScriptedSession];
    expect(autoscaler.tick()).toHaveLength(1);
    advance(59_999);
    expect(autoscaler.tick()).toEqual([]);
    advance(1);
    expect(autoscaler.tick()).toHaveLength(1);
    tell(only, { kind: 'pod.failed', podId: id, code: 'no_capacity' });
    expect(autoscaler.tick()).toEqual([]);
    // The same node back on a new session starts afresh.
    tell(only, { kind: 'closed', code: 1000 });
    expect(autoscaler.tick()).toHaveLength(1);
  });

  it('replaces a warm node that is draining, and asks it nothing', () => {
    const { sessions, autoscaler } = setup(2);
    const [leaving, other] = sessions as [ScriptedSession, ScriptedSession];
    leaving.warmPods.add(id);
    expect(autoscaler.tick()).toEqual([]);
    expect(autoscaler.pods()[0]?.warm).toBe(1);
    leaving.draining = true;
    expect(autoscaler.pods()[0]?.warm).toBe(0);
    expect(autoscaler.tick().map((a) => [a.kind, a.node])).toEqual([['load', other.node]]);
    expect(leaving.sent).toEqual([]);
  });

  it("does not unload an upstream server's model for being idle: that frees nothing", () => {
    const upstream = samplePodSpec({
      name: 'relayed',
      runtime: 'openai-upstream',
      minVramMiB: 1,
      software: {},
    });
    const relayed = podId(upstream);
    const local = samplePodSpec({ name: 'local', minVramMiB: 1, software: {} });
    const { sessions, autoscaler, advance } = setup(1, [upstream, local]);
    const [only] = sessions as [ScriptedSession];
    only.capabilities = { ...only.capabilities, runtimes: ['llama-cpp', 'openai-upstream'] };
    only.warmPods.add(relayed).add(podId(local));
    expect(autoscaler.tick()).toEqual([]);
    advance(3_600_000);
    expect(autoscaler.tick().map((a) => [a.kind, a.podId])).toEqual([['unload', podId(local)]]);
  });

  it('skips nodes draining, suspended, without room, or not hosting the pod, and remembers no failed send', () => {
    const { sessions, autoscaler, suspended } = setup(5);
    const [draining, away, full, other, flaky] = sessions as [
      ScriptedSession,
      ScriptedSession,
      ScriptedSession,
      ScriptedSession,
      ScriptedSession,
    ];
    draining.draining = true;
    suspended.add(away.node);
    full.capabilities = { ...full.capabilities, podMemory: { budgetMiB: 8_192, heldMiB: 7_500 } };
    other.capabilities = { ...other.capabilities, hostedPods: [`0x${'cd'.repeat(32)}`] };
    flaky.accepts = false;
    expect(autoscaler.tick()).toEqual([]);
    expect(flaky.sent).toEqual(['load kept']);
    flaky.accepts = true;
    expect(autoscaler.tick().map((a) => a.node)).toEqual([flaky.node]);
    for (const session of [draining, away, full, other]) expect(session.sent).toEqual([]);
  });
});

function autoscalerOptions(sessions: ScriptedSession[]): ConstructorParameters<typeof Autoscaler>[0] {
  return {
    hub: { sessions: () => sessions as unknown as MinerSession[], subscribe: () => () => {} },
    scheduler: { isSuspended: () => false, rankedEfficiency: () => undefined },
    catalog: new PodCatalog([spec]),
    logger: captureLogger().logger,
  };
}
