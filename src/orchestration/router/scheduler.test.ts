import { type Address, getAddress, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../protocol/mulberry32.ts';
import { type PodSpec, podId } from '../../protocol/pod-spec.ts';
import { samplePodSpec } from '../../protocol/testing/samples.ts';
import type { NodeHardware } from './node-fit.ts';
import { efficiencyBand as efficiencyBandOf, ranksBefore as ranksBeforeOf } from './node-rank.ts';
import { type NodeSnapshot, Scheduler } from './scheduler.ts';

const address = (i: number): Address => getAddress(`0x${(i + 1).toString(16).padStart(40, 'a')}`);

const cpuSpec = samplePodSpec({ name: 'cpu-pod', minVramMiB: 1_024, software: {} });
const cpuPod = { podId: podId(cpuSpec), spec: cpuSpec };

function hardware(overrides: Partial<NodeHardware> = {}): NodeHardware {
  return { gpus: [], ramMiB: 4_096, efficiency: 10, runtimes: ['llama-cpp'], ...overrides };
}

function snapshot(
  i: number,
  overrides: Partial<NodeSnapshot> & { hw?: Partial<NodeHardware> } = {},
): NodeSnapshot {
  const { hw, ...rest } = overrides;
  return {
    node: address(i),
    hardware: hardware(hw),
    warmPods: [cpuPod.podId],
    freeSlots: 1,
    draining: false,
    ...rest,
  };
}

function pick(
  scheduler: Scheduler,
  extra: { frontend?: Address; exclude?: Set<Address> } = {},
  pod = cpuPod,
) {
  return scheduler.pick({ ...pod, ...extra })?.node;
}

describe('Scheduler eligibility', () => {
  it('returns nothing when no node is connected', () => {
    const scheduler = new Scheduler();
    expect(pick(scheduler)).toBeUndefined();
    expect(scheduler.capableNodes(cpuPod)).toBe(0);
  });

  it("needs enough memory: the GPUs' VRAM together on GPU nodes, RAM on CPU-only nodes", () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { hw: { ramMiB: 512 } }));
    expect(pick(scheduler)).toBeUndefined();
    scheduler.upsertNode(snapshot(1, { hw: { ramMiB: 64_000, gpus: [{ name: 'small', vramMiB: 512 }] } }));
    expect(pick(scheduler)).toBeUndefined();
    scheduler.upsertNode(
      snapshot(2, {
        hw: {
          gpus: [
            { name: 'small', vramMiB: 512 },
            { name: 'big', vramMiB: 2_048 },
          ],
        },
      }),
    );
    expect(pick(scheduler)).toBe(address(2));
    scheduler.upsertNode(snapshot(3, { hw: { ramMiB: 1_024 } }));
    expect(scheduler.capableNodes(cpuPod)).toBe(2);
    // Two GPUs too small alone hold the pod together (its layers split across them).
    const halves = [0, 1].map((i) => ({ name: `half-${i}`, vramMiB: 600 }));
    scheduler.upsertNode(snapshot(4, { hw: { ramMiB: 64_000, gpus: halves } }));
    expect(scheduler.capableNodes(cpuPod)).toBe(3);
  });

  it('needs the CUDA, driver and Python versions the spec asks for, compared numerically', () => {
    const spec: PodSpec = samplePodSpec({
      name: 'gpu-pod',
      minVramMiB: 0,
      software: { cuda: '12.4', driver: '550', python: '3.10' },
    });
    const pod = { podId: podId(spec), spec };
    const gpu = (cuda: string, driver = '550.54') => ({ name: 'gpu', vramMiB: 8_000, cuda, driver });
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { warmPods: [pod.podId], hw: { gpus: [gpu('12.3')], python: '3.11' } }));
    scheduler.upsertNode(
      snapshot(1, { warmPods: [pod.podId], hw: { gpus: [gpu('12.10', '535')], python: '3.11' } }),
    );
    scheduler.upsertNode(
      snapshot(2, { warmPods: [pod.podId], hw: { gpus: [gpu('12.10')], python: '3.9.18' } }),
    );
    scheduler.upsertNode(snapshot(3, { warmPods: [pod.podId], hw: { gpus: [gpu('12.10')] } }));
    expect(pick(scheduler, {}, pod)).toBeUndefined();
    scheduler.upsertNode(
      snapshot(4, { warmPods: [pod.podId], hw: { gpus: [gpu('12.10')], python: '3.10.0' } }),
    );
    expect(pick(scheduler, {}, pod)).toBe(address(4));
    expect(scheduler.capableNodes(pod)).toBe(1);
  });

  it('offers a cold node only when it runs the pod runtime and has not said it cannot load it', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { warmPods: [], hw: { runtimes: ['process'] } }));
    expect(pick(scheduler)).toBeUndefined();
    scheduler.upsertNode(snapshot(1, { warmPods: [] }));
    expect(scheduler.pick(cpuPod)).toEqual({ node: address(1), warm: false, referred: false });
    scheduler.markCannotLoad(address(1), cpuPod.podId);
    expect(pick(scheduler)).toBeUndefined();
    expect(new Scheduler({ allowCold: false }).pick(cpuPod)).toBeUndefined();
  });

  it('offers a cold node that lists the pods it hosts only the jobs of those', () => {
    const scheduler = new Scheduler();
    const other = `0x${'cd'.repeat(32)}` as Hex;
    scheduler.upsertNode(snapshot(0, { warmPods: [], hw: { hostedPods: [other] } }));
    expect(pick(scheduler)).toBeUndefined();
    scheduler.upsertNode(snapshot(0, { warmPods: [], hw: { hostedPods: [other, cpuPod.podId] } }));
    expect(scheduler.pick(cpuPod)).toEqual({ node: address(0), warm: false, referred: false });
  });

  it('skips nodes without a free slot, draining, suspended or already tried', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { freeSlots: 0 }));
    scheduler.upsertNode(snapshot(1, { draining: true }));
    expect(pick(scheduler)).toBeUndefined();
    // Busy nodes still count as capable (worth waiting for); draining ones do not.
    expect(scheduler.capableNodes(cpuPod)).toBe(1);
    scheduler.upsertNode(snapshot(2));
    scheduler.suspend(address(2), 60_000);
    expect(scheduler.isSuspended(address(2))).toBe(true);
    expect(pick(scheduler)).toBeUndefined();
    expect(scheduler.capableNodes(cpuPod)).toBe(1);
    scheduler.unsuspend(address(2));
    expect(pick(scheduler)).toBe(address(2));
    expect(pick(scheduler, { exclude: new Set([address(2)]) })).toBeUndefined();
    expect(scheduler.capableNodes({ ...cpuPod, exclude: new Set([address(2)]) })).toBe(1);
    scheduler.setFreeSlots(address(0), 1);
    expect(pick(scheduler, { exclude: new Set([address(2)]) })).toBe(address(0));
  });

  it('counts a paused node capable while its pause ends by the time given, and says when it resumes', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0));
    scheduler.upsertNode(snapshot(1));
    const now = Date.now();
    scheduler.pause(address(0), 5_000);
    scheduler.pause(address(1), 60_000);
    expect([scheduler.isPaused(address(0)), scheduler.isSuspended(address(0))]).toEqual([true, true]);
    expect(pick(scheduler)).toBeUndefined();
    expect(scheduler.capableNodes(cpuPod)).toBe(0);
    expect(scheduler.capableNodes(cpuPod, now + 10_000)).toBe(1);
    expect(scheduler.capableNodes(cpuPod, now + 120_000)).toBe(2);
    // Tried already: not counted, paused or not.
    const tried = { ...cpuPod, exclude: new Set([address(0)]) };
    expect(scheduler.capableNodes(tried, now + 120_000)).toBe(1);
    expect(scheduler.soonestResume(tried)).toBeGreaterThanOrEqual(now + 60_000);
    const soonest = scheduler.soonestResume(cpuPod) ?? 0;
    expect(soonest).toBeGreaterThanOrEqual(now + 5_000);
    expect(soonest).toBeLessThanOrEqual(Date.now() + 5_000);
    // A fault's suspension replaces the pause: not capable, whatever the time.
    scheduler.suspend(address(0), 5_000);
    expect(scheduler.isPaused(address(0))).toBe(false);
    expect(scheduler.capableNodes(cpuPod, now + 120_000)).toBe(1);
    expect(scheduler.soonestResume(cpuPod)).toBeGreaterThanOrEqual(now + 60_000);
    scheduler.unsuspend(address(1));
    expect(scheduler.isPaused(address(1))).toBe(false);
    expect(scheduler.soonestResume(cpuPod)).toBeUndefined();
    expect(pick(scheduler)).toBe(address(1));
  });

  it('forgets removed nodes and keeps a suspension across a reconnect', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0));
    scheduler.suspend(address(0), 60_000);
    scheduler.removeNode(address(0));
    expect(scheduler.capableNodes(cpuPod)).toBe(0);
    scheduler.upsertNode(snapshot(0));
    expect(pick(scheduler)).toBeUndefined();
    scheduler.unsuspend(address(0));
    expect(pick(scheduler)).toBe(address(0));
  });

  it('indexes nodes that joined before the pod was first asked for, and follows warm changes', () => {
    const scheduler = new Scheduler({ allowCold: false });
    scheduler.upsertNode(snapshot(0, { warmPods: [] }));
    expect(pick(scheduler)).toBeUndefined();
    scheduler.setWarm(address(0), cpuPod.podId, true);
    expect(pick(scheduler)).toBe(address(0));
    scheduler.setWarm(address(0), cpuPod.podId, false);
    expect(pick(scheduler)).toBeUndefined();
  });
});

describe('Scheduler order (whitepaper 2.2.2)', () => {
  const frontend = getAddress('0x00000000000000000000000000000000000f0f0f');

  it('puts a warm node before a cold one, even a much faster cold one', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { warmPods: [], hw: { efficiency: 1_000 } }));
    scheduler.upsertNode(snapshot(1, { hw: { efficiency: 1 } }));
    expect(scheduler.pick(cpuPod)).toEqual({ node: address(1), warm: true, referred: false });
  });

  it('among cold nodes, puts those whose memory has room for the pod before faster ones that would unload others', () => {
    const scheduler = new Scheduler();
    const full = { podMemory: { budgetMiB: 4_096, heldMiB: 3_500 } };
    scheduler.upsertNode(snapshot(0, { warmPods: [], hw: { efficiency: 1_000, ...full } }));
    scheduler.upsertNode(
      snapshot(1, { warmPods: [], hw: { efficiency: 10, podMemory: { budgetMiB: 4_096, heldMiB: 0 } } }),
    );
    expect(scheduler.pick(cpuPod)).toEqual({ node: address(1), warm: false, referred: false });
    // Once the fast node says its memory freed up, rank decides again.
    scheduler.upsertNode(
      snapshot(0, { warmPods: [], hw: { efficiency: 1_000, podMemory: { budgetMiB: 4_096, heldMiB: 0 } } }),
    );
    expect(pick(scheduler)).toBe(address(0));
    // A node that says nothing of its memory is taken to have room; a warm node needs none.
    scheduler.upsertNode(snapshot(0, { warmPods: [], hw: { efficiency: 1_000, ...full } }));
    scheduler.upsertNode(snapshot(2, { warmPods: [], hw: { efficiency: 100 } }));
    expect(pick(scheduler)).toBe(address(2));
    scheduler.upsertNode(
      snapshot(3, { hw: { efficiency: 1, podMemory: { budgetMiB: 4_096, heldMiB: 4_096 } } }),
    );
    expect(scheduler.pick(cpuPod)).toEqual({ node: address(3), warm: true, referred: false });
  });

  it("judges a cold node's room by its own estimate of the pod when it gives one (the KV cache counts)", () => {
    const scheduler = new Scheduler();
    // 1,296 MiB free: room for the spec's 1,024 MiB, not for the 1,500 the fast node says the pod holds there.
    const fast = { budgetMiB: 4_096, heldMiB: 2_800, pods: [{ podId: cpuPod.podId, mib: 1_500 }] };
    scheduler.upsertNode(snapshot(0, { warmPods: [], hw: { efficiency: 1_000, podMemory: fast } }));
    scheduler.upsertNode(
      snapshot(1, { warmPods: [], hw: { efficiency: 10, podMemory: { budgetMiB: 4_096, heldMiB: 2_800 } } }),
    );
    expect(pick(scheduler)).toBe(address(1));
    scheduler.upsertNode(
      snapshot(0, { warmPods: [], hw: { efficiency: 1_000, podMemory: { ...fast, heldMiB: 2_000 } } }),
    );
    expect(pick(scheduler)).toBe(address(0));
  });

  it("holds a pod to its spec's autoscale.max warm nodes: a job waits for them rather than load it elsewhere", async () => {
    const spec = samplePodSpec({
      name: 'capped',
      minVramMiB: 1_024,
      software: {},
      autoscale: { min: 0, max: 1 },
    });
    const capped = { podId: podId(spec), spec };
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { warmPods: [capped.podId], freeSlots: 0 }));
    scheduler.upsertNode(snapshot(1, { warmPods: [], hw: { efficiency: 1_000 } }));
    // The one warm node allowed is busy: nothing to pick, though a cold node is free; waiting makes sense.
    expect(pick(scheduler, {}, capped)).toBeUndefined();
    expect(scheduler.capableNodes(capped)).toBe(2);
    const woken = scheduler.waitForChange(capped);
    // The warm node unloads it: the cap no longer holds, waiters wake, and the cold node may load it.
    scheduler.setWarm(address(0), capped.podId, false);
    expect(await woken).toBe(true);
    expect(scheduler.pick(capped)).toEqual({ node: address(1), warm: false, referred: false });
    // Another pod, without a cap reached, still goes to the cold node.
    expect(pick(scheduler)).toBe(address(1));
    // A warm node that failed (suspended) or that the job tried already does not hold the cap.
    scheduler.setWarm(address(0), capped.podId, true);
    expect(pick(scheduler, {}, capped)).toBeUndefined();
    expect(pick(scheduler, { exclude: new Set([address(0)]) }, capped)).toBe(address(1));
    scheduler.suspend(address(0), 60_000);
    expect(pick(scheduler, {}, capped)).toBe(address(1));
  });

  it('puts nodes referred by the frontend next, but never a cold referred node before a warm one', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { hw: { efficiency: 100 } }));
    scheduler.upsertNode(snapshot(1, { hw: { efficiency: 10 } }));
    scheduler.upsertNode(snapshot(2, { warmPods: [], hw: { efficiency: 1_000 } }));
    scheduler.setReferrals(frontend, [address(1), address(2)]);
    expect(scheduler.pick({ ...cpuPod, frontend })).toEqual({ node: address(1), warm: true, referred: true });
    // Without the frontend, or for another one, referral does not count.
    expect(pick(scheduler)).toBe(address(0));
    expect(pick(scheduler, { frontend: address(99) })).toBe(address(0));
    scheduler.setFreeSlots(address(1), 0);
    expect(scheduler.pick({ ...cpuPod, frontend })).toEqual({
      node: address(0),
      warm: true,
      referred: false,
    });
    scheduler.setFreeSlots(address(0), 0);
    expect(scheduler.pick({ ...cpuPod, frontend })).toEqual({
      node: address(2),
      warm: false,
      referred: true,
    });
    // Replacing the list drops the old referral.
    scheduler.setReferrals(frontend, []);
    scheduler.setFreeSlots(address(1), 1);
    scheduler.setFreeSlots(address(0), 1);
    expect(pick(scheduler, { frontend })).toBe(address(0));
  });

  it('then ranks by efficiency, in 10 % bands', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { hw: { efficiency: 50 } }));
    scheduler.upsertNode(snapshot(1, { hw: { efficiency: 80 } }));
    scheduler.upsertNode(snapshot(2, { hw: { efficiency: 20 } }));
    expect(pick(scheduler)).toBe(address(1));
    // 75 is in the same band as 80 (within 10 %): the tie goes on to votes.
    scheduler.upsertNode(snapshot(3, { hw: { efficiency: 75 } }));
    expect(pick(scheduler)).toBe(address(1));
    scheduler.setVotes(address(3), 5n);
    expect(pick(scheduler)).toBe(address(3));
    // Votes do not lift a node over a faster band.
    scheduler.setVotes(address(2), 1_000n);
    expect(pick(scheduler)).toBe(address(3));
  });

  it('ranks a capped node by its cap, across reconnects, until the cap is lifted', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { hw: { efficiency: 50 } }));
    scheduler.upsertNode(snapshot(1, { hw: { efficiency: 500 } }));
    expect(pick(scheduler)).toBe(address(1));
    scheduler.capEfficiency(address(1), 20);
    expect(scheduler.efficiencyCap(address(1))).toBe(20);
    expect(pick(scheduler)).toBe(address(0));
    // A fresh announcement (a reconnect, new capabilities) does not shed the cap.
    scheduler.removeNode(address(1));
    scheduler.upsertNode(snapshot(1, { hw: { efficiency: 900 } }));
    expect(pick(scheduler)).toBe(address(0));
    // A cap above the announced figure changes nothing: the node is ranked by the lower of the two.
    scheduler.capEfficiency(address(0), 1_000);
    expect(pick(scheduler)).toBe(address(0));
    scheduler.capEfficiency(address(1), undefined);
    expect(scheduler.efficiencyCap(address(1))).toBeUndefined();
    expect(pick(scheduler)).toBe(address(1));
    // A cap set before a node connects applies when it does.
    scheduler.capEfficiency(address(2), 1);
    scheduler.upsertNode(snapshot(2, { hw: { efficiency: 10_000 } }));
    expect(pick(scheduler)).toBe(address(1));
  });

  it('ranks a node the router has not timed no higher than the best timed one, once some node was', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { hw: { efficiency: 10 } }));
    scheduler.upsertNode(snapshot(1, { hw: { efficiency: 1_000 } }));
    expect(pick(scheduler)).toBe(address(1));
    scheduler.markTimed(address(0));
    // Ranked as 10 now, the newcomer ties with the timed node and loses on join order.
    expect(scheduler.rankedEfficiency(address(1))).toBe(10);
    expect(scheduler.rankedEfficiency(address(0))).toBeUndefined();
    expect(pick(scheduler)).toBe(address(0));
    scheduler.markTimed(address(1));
    expect(scheduler.rankedEfficiency(address(1))).toBeUndefined();
    expect(pick(scheduler)).toBe(address(1));
    // The best timed node leaving lowers the ceiling for the others on probation.
    scheduler.upsertNode(snapshot(2, { hw: { efficiency: 5_000 } }));
    expect(scheduler.rankedEfficiency(address(2))).toBe(1_000);
    scheduler.removeNode(address(1));
    expect(scheduler.rankedEfficiency(address(2))).toBe(10);
    expect(pick(scheduler)).toBe(address(0));
  });

  it('then by votes, then uptime, then free slots, then join order', () => {
    const scheduler = new Scheduler();
    for (let i = 0; i < 4; i++) scheduler.upsertNode(snapshot(i, { freeSlots: 2 }));
    expect(pick(scheduler)).toBe(address(0));
    scheduler.setFreeSlots(address(0), 1);
    expect(pick(scheduler)).toBe(address(1));
    scheduler.setUptime(address(2), 0.9);
    expect(pick(scheduler)).toBe(address(2));
    scheduler.setVotes(address(3), 1n);
    expect(pick(scheduler)).toBe(address(3));
    // Votes set before a node connects apply when it does.
    scheduler.setVotes(address(7), 10n);
    scheduler.upsertNode(snapshot(7));
    expect(pick(scheduler)).toBe(address(7));
  });

  it('takes a preferred node (its prompt cache may hold the job) over better ones of its tier, never of a better tier', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { hw: { efficiency: 1_000 } }));
    scheduler.upsertNode(snapshot(1, { hw: { efficiency: 1 } }));
    scheduler.upsertNode(snapshot(2, { warmPods: [], hw: { efficiency: 1 } }));
    expect(scheduler.pick({ ...cpuPod, prefer: address(1) })).toEqual({
      node: address(1),
      warm: true,
      referred: false,
    });
    // A cold preferred node waits behind any free warm one, as the tiers say.
    expect(pick(scheduler, {}, cpuPod)).toBe(address(0));
    expect(scheduler.pick({ ...cpuPod, prefer: address(2) })?.node).toBe(address(0));
    // Busy, suspended, tried or gone, it is passed over.
    scheduler.setFreeSlots(address(1), 0);
    expect(scheduler.pick({ ...cpuPod, prefer: address(1) })?.node).toBe(address(0));
    scheduler.setFreeSlots(address(1), 1);
    scheduler.suspend(address(1), 60_000);
    expect(scheduler.pick({ ...cpuPod, prefer: address(1) })?.node).toBe(address(0));
    scheduler.unsuspend(address(1));
    expect(scheduler.pick({ ...cpuPod, prefer: address(1), exclude: new Set([address(1)]) })?.node).toBe(
      address(0),
    );
    scheduler.removeNode(address(1));
    expect(scheduler.pick({ ...cpuPod, prefer: address(1) })?.node).toBe(address(0));
    // Within the referred tier too, and not past it.
    scheduler.upsertNode(snapshot(3, { hw: { efficiency: 1 } }));
    scheduler.setReferrals(frontend, [address(0)]);
    expect(scheduler.pick({ ...cpuPod, frontend, prefer: address(3) })?.node).toBe(address(0));
  });

  it('takes the next best when the best was tried, without disturbing later picks', () => {
    const scheduler = new Scheduler();
    for (let i = 0; i < 5; i++) scheduler.upsertNode(snapshot(i, { hw: { efficiency: 10 * 2 ** i } }));
    expect(pick(scheduler, { exclude: new Set([address(4), address(3)]) })).toBe(address(2));
    expect(pick(scheduler)).toBe(address(4));
  });
});

describe('Scheduler waiting', () => {
  it('wakes a waiter when a capable node frees a slot, not when one fills up', async () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { freeSlots: 1 }));
    scheduler.upsertNode(snapshot(1, { freeSlots: 0 }));
    let woke = false;
    const waiting = scheduler.waitForChange(cpuPod).then(() => {
      woke = true;
    });
    expect(scheduler.stats().waiting).toBe(1);
    scheduler.setFreeSlots(address(0), 0);
    await Promise.resolve();
    expect(woke).toBe(false);
    scheduler.setFreeSlots(address(1), 1);
    await waiting;
    expect(woke).toBe(true);
    expect(scheduler.stats().waiting).toBe(0);
  });

  it('wakes waiters when the last capable node leaves or is suspended, and on abort', async () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { freeSlots: 0 }));
    const first = scheduler.waitForChange(cpuPod);
    scheduler.suspend(address(0), 60_000);
    await first;
    expect(scheduler.capableNodes(cpuPod)).toBe(0);
    const second = scheduler.waitForChange(cpuPod);
    scheduler.removeNode(address(0));
    await second;
    const controller = new AbortController();
    const third = scheduler.waitForChange(cpuPod, controller.signal);
    controller.abort();
    await third;
    expect(scheduler.stats().waiting).toBe(0);
  });

  it('wakes waiters when a pause ends, the node available again', async () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0));
    scheduler.pause(address(0), 20);
    expect(pick(scheduler)).toBeUndefined();
    await scheduler.waitForChange(cpuPod);
    expect(scheduler.isPaused(address(0))).toBe(false);
    expect(pick(scheduler)).toBe(address(0));
  });

  it('lifts a suspension by itself when its time is up', async () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0));
    scheduler.suspend(address(0), 20);
    expect(pick(scheduler)).toBeUndefined();
    await scheduler.waitForChange(cpuPod);
    expect(scheduler.isSuspended(address(0))).toBe(false);
    expect(pick(scheduler)).toBe(address(0));
  });
});

describe("Scheduler and pods' own slots (several pods on a node)", () => {
  const otherSpec = samplePodSpec({ name: 'other-pod', minVramMiB: 1_024, software: {} });
  const otherPod = { podId: podId(otherSpec), spec: otherSpec };

  it("offers a node to a pod only while the pod's own slots have room, and wakes its waiter when they do", async () => {
    const scheduler = new Scheduler();
    // Node 0, the more efficient: two slots, one of them the pod's own; node 1 holds it warm too.
    const warmPods = [cpuPod.podId, otherPod.podId];
    scheduler.upsertNode(
      snapshot(0, {
        warmPods,
        freeSlots: 2,
        podFreeSlots: new Map([[cpuPod.podId, 1]]),
        hw: { efficiency: 50 },
      }),
    );
    scheduler.upsertNode(snapshot(1, { warmPods, freeSlots: 0 }));
    expect(pick(scheduler)).toBe(address(0));
    // A job of the pod takes its own slot: node 0 keeps a free slot, the other pod's.
    scheduler.setFreeSlots(address(0), 1, { podId: cpuPod.podId, free: 0 });
    expect(pick(scheduler)).toBeUndefined();
    expect(pick(scheduler, {}, otherPod)).toBe(address(0));
    let woke = false;
    const waiting = scheduler.waitForChange(cpuPod).then(() => {
      woke = true;
    });
    // The other pod's job ending frees a node slot, not one of this pod's: no wake, still no node.
    scheduler.setFreeSlots(address(0), 2);
    await Promise.resolve();
    expect(woke).toBe(false);
    expect(pick(scheduler)).toBeUndefined();
    // Node 1 frees a slot: the pod goes there.
    scheduler.setFreeSlots(address(1), 1);
    await waiting;
    expect(pick(scheduler)).toBe(address(1));
    // Its own job ends on node 0: back to the more efficient node.
    scheduler.setFreeSlots(address(0), 2, { podId: cpuPod.podId, free: 1 });
    expect(pick(scheduler)).toBe(address(0));
    // A node full for every pod is full for this one too, whatever its own slots say.
    scheduler.setFreeSlots(address(0), 0);
    expect(pick(scheduler)).toBe(address(1));
  });

  it('keeps a limit announced again with the capabilities', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0, { podFreeSlots: new Map([[cpuPod.podId, 0]]), freeSlots: 3 }));
    expect(pick(scheduler)).toBeUndefined();
    scheduler.upsertNode(snapshot(0, { podFreeSlots: new Map([[cpuPod.podId, 2]]), freeSlots: 3 }));
    expect(pick(scheduler)).toBe(address(0));
    // Announced without a limit: any free slot of the node's.
    scheduler.upsertNode(snapshot(0, { freeSlots: 3 }));
    scheduler.setFreeSlots(address(0), 2);
    expect(pick(scheduler)).toBe(address(0));
  });
});

describe('Scheduler stats', () => {
  it('counts nodes, available ones and suspensions', () => {
    const scheduler = new Scheduler();
    scheduler.upsertNode(snapshot(0));
    scheduler.upsertNode(snapshot(1, { freeSlots: 0 }));
    scheduler.suspend(address(0), 60_000);
    pick(scheduler);
    expect(scheduler.stats()).toEqual({ nodes: 2, available: 0, suspended: 1, waiting: 0, indexedPods: 1 });
    const other: Hex = `0x${'12'.repeat(32)}`;
    expect(scheduler.pick({ podId: other, spec: cpuSpec })).toBeUndefined();
  });
});

describe('Scheduler against a brute-force scan', () => {
  it('picks what the whitepaper order picks, over 3,000 random changes', () => {
    const next = mulberry32(11);
    // Replica caps: one never reached, one often (about a third of 40 nodes hold a pod warm), one at times.
    const specs = [0, 2_048, 6_000].map((minVramMiB, i) =>
      samplePodSpec({
        name: `p${i}`,
        minVramMiB,
        software: {},
        autoscale: { min: 0, max: [64, 3, 12][i] as number },
      }),
    );
    const pods = specs.map((spec) => ({ podId: podId(spec), spec }));
    const frontends = [address(900), address(901)];
    const scheduler = new Scheduler();
    interface Model {
      snapshot: NodeSnapshot;
      votes: bigint;
      uptime: number;
      suspended: boolean;
      joinOrder: number;
      referredBy: Set<Address>;
    }
    const model = new Map<Address, Model>();
    // Votes outlive a connection (they are on-chain); everything else is per session.
    const votes = new Map<Address, bigint>();
    let joined = 0;
    const referrals = new Map<Address, Set<Address>>(frontends.map((f) => [f, new Set()]));
    const nodeIds = Array.from({ length: 40 }, (_, i) => address(i));
    const randomSnapshot = (node: Address): NodeSnapshot => ({
      node,
      hardware: (() => {
        const ramMiB = Math.floor(next() * 8_192);
        const held = Math.floor(next() * ramMiB);
        return hardware({
          ramMiB,
          efficiency: Math.floor(next() * 200),
          runtimes: next() < 0.7 ? ['llama-cpp'] : ['process'],
          ...(next() < 0.5
            ? {}
            : {
                podMemory: {
                  budgetMiB: ramMiB,
                  heldMiB: held,
                  // Some nodes estimate what some pods hold once loaded (a pod's weights and KV cache).
                  ...(next() < 0.5
                    ? {}
                    : {
                        pods: pods
                          .filter(() => next() < 0.5)
                          .map((p) => ({ podId: p.podId, mib: Math.floor(next() * 4_096) })),
                      }),
                },
              }),
          ...(next() < 0.5 ? {} : { hostedPods: pods.filter(() => next() < 0.6).map((p) => p.podId) }),
        });
      })(),
      warmPods: pods.filter(() => next() < 0.3).map((p) => p.podId),
      freeSlots: Math.floor(next() * 3),
      // Some nodes' pods keep slots of their own (several pods on the node).
      podFreeSlots: new Map(
        pods.filter(() => next() < 0.3).map((p) => [p.podId, Math.floor(next() * 2)] as const),
      ),
      draining: next() < 0.1,
    });
    const expected = (pod: (typeof pods)[number], frontend: Address | undefined, exclude: Set<Address>) => {
      let best: { node: Address; tier: number; m: Model } | undefined;
      // Nodes holding it warm that may serve it (neither suspended nor excluded): at the cap, none loads it.
      const warmNodes = [...model.entries()].filter(
        ([node, { snapshot, suspended }]) =>
          [...snapshot.warmPods].includes(pod.podId) &&
          !snapshot.draining &&
          snapshot.hardware.ramMiB >= pod.spec.minVramMiB &&
          !suspended &&
          !exclude.has(node),
      ).length;
      const mayLoadCold = warmNodes < pod.spec.autoscale.max;
      for (const [node, m] of model) {
        const { snapshot } = m;
        const warm = [...snapshot.warmPods].includes(pod.podId);
        const memory = snapshot.hardware.ramMiB;
        const eligible =
          memory >= pod.spec.minVramMiB &&
          (warm ||
            (mayLoadCold &&
              snapshot.hardware.runtimes.includes('llama-cpp') &&
              (snapshot.hardware.hostedPods?.includes(pod.podId) ?? true))) &&
          snapshot.freeSlots > 0 &&
          (snapshot.podFreeSlots?.get(pod.podId) ?? 1) > 0 &&
          !snapshot.draining &&
          !m.suspended &&
          !exclude.has(node);
        if (!eligible) continue;
        const referred = frontend !== undefined && m.referredBy.has(frontend);
        const tier = (warm ? 0 : 2) + (referred ? 0 : 1);
        // Cold: a node with room for the pod before one that would unload others.
        const room = (x: Model) => {
          const memory = x.snapshot.hardware.podMemory;
          const need = memory?.pods?.find((p) => p.podId === pod.podId)?.mib ?? pod.spec.minVramMiB;
          return warm || memory === undefined || memory.budgetMiB - memory.heldMiB >= need;
        };
        const rank = (x: Model) => ({
          efficiencyBand: efficiencyBandOf(x.snapshot.hardware.efficiency),
          votes: x.votes,
          uptimeBand: Math.round(x.uptime * 100),
          freeSlots: x.snapshot.freeSlots,
          joinOrder: x.joinOrder,
        });
        if (
          best === undefined ||
          tier < best.tier ||
          (tier === best.tier && room(m) !== room(best.m) && room(m)) ||
          (tier === best.tier && room(m) === room(best.m) && ranksBeforeOf(rank(m), rank(best.m)))
        ) {
          best = { node, tier, m };
        }
      }
      return best?.node;
    };
    for (let step = 0; step < 3_000; step++) {
      const node = nodeIds[Math.floor(next() * nodeIds.length)] as Address;
      const m = model.get(node);
      const roll = next();
      if (roll < 0.25 || m === undefined) {
        const snapshot = randomSnapshot(node);
        scheduler.upsertNode(snapshot);
        if (m === undefined) {
          model.set(node, {
            snapshot,
            votes: votes.get(node) ?? 0n,
            uptime: 0,
            suspended: scheduler.isSuspended(node),
            joinOrder: joined++,
            referredBy: new Set([...referrals].filter(([, nodes]) => nodes.has(node)).map(([f]) => f)),
          });
        } else m.snapshot = snapshot;
      } else if (roll < 0.45) {
        const free = Math.floor(next() * 3);
        // At times a job of a pod with slots of its own took or freed one of them.
        const own = pods[Math.floor(next() * pods.length)] as (typeof pods)[number];
        const podFree = m.snapshot.podFreeSlots?.has(own.podId) ? Math.floor(next() * 2) : undefined;
        scheduler.setFreeSlots(
          node,
          free,
          podFree === undefined ? undefined : { podId: own.podId, free: podFree },
        );
        const podFreeSlots = new Map(m.snapshot.podFreeSlots);
        if (podFree !== undefined) podFreeSlots.set(own.podId, podFree);
        m.snapshot = { ...m.snapshot, freeSlots: free, podFreeSlots };
      } else if (roll < 0.5) {
        scheduler.removeNode(node);
        model.delete(node);
      } else if (roll < 0.55) {
        m.votes = BigInt(Math.floor(next() * 4));
        votes.set(node, m.votes);
        scheduler.setVotes(node, m.votes);
      } else if (roll < 0.6) {
        m.uptime = Math.floor(next() * 4) / 4;
        scheduler.setUptime(node, m.uptime);
      } else if (roll < 0.65) {
        m.suspended = !m.suspended;
        if (m.suspended) scheduler.suspend(node, 600_000);
        else scheduler.unsuspend(node);
      } else if (roll < 0.7) {
        const frontend = frontends[Math.floor(next() * frontends.length)] as Address;
        const nodes = new Set(nodeIds.filter(() => next() < 0.2));
        referrals.set(frontend, nodes);
        scheduler.setReferrals(frontend, nodes);
        for (const [id, x] of model) {
          if (nodes.has(id)) x.referredBy.add(frontend);
          else x.referredBy.delete(frontend);
        }
      }
      const pod = pods[Math.floor(next() * pods.length)] as (typeof pods)[number];
      const frontend = next() < 0.5 ? frontends[Math.floor(next() * frontends.length)] : undefined;
      const exclude = new Set(nodeIds.filter(() => next() < 0.05));
      const request = { ...pod, exclude, ...(frontend === undefined ? {} : { frontend }) };
      expect(scheduler.pick(request)?.node, `step ${step}`).toBe(expected(pod, frontend, exclude));
    }
    for (const node of nodeIds) scheduler.unsuspend(node);
  });
});
