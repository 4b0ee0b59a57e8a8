import { type Address, getAddress, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { planPodScale, type Replica, warmTarget } from './autoscale-plan.ts';

const podId = `0x${'ab'.repeat(32)}` as Hex;
const node = (i: number): Address => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`);

function replica(i: number, overrides: Partial<Replica> = {}): Replica {
  return {
    node: node(i),
    warm: false,
    loadable: true,
    hasRoom: true,
    efficiency: 10,
    idleMs: 0,
    loading: false,
    unloading: false,
    ...overrides,
  };
}

const plan = (replicas: Replica[], bounds: { min?: number; max?: number; idleMs?: number } = {}) =>
  planPodScale({
    podId,
    max: bounds.max ?? 64,
    target: warmTarget({ min: bounds.min ?? 0, max: bounds.max ?? 64 }, undefined),
    replicas,
    scaleDownIdleMs: bounds.idleMs,
  }).map((a) => `${a.kind} ${replicas.findIndex((r) => r.node === a.node)}`);

describe('planPodScale', () => {
  it('loads the pod ahead on the most efficient nodes with room until autoscale.min are warm', () => {
    const replicas = [
      replica(0, { efficiency: 5 }),
      replica(1, { efficiency: 50 }),
      replica(2, { efficiency: 500, hasRoom: false }),
      replica(3, { efficiency: 20 }),
    ];
    expect(plan(replicas, { min: 2 })).toEqual(['load 1', 'load 3']);
    // Warm ones and loads under way count; nodes that may not load it are not asked.
    expect(plan([replica(0, { warm: true }), replica(1, { loading: true }), replica(2)], { min: 2 })).toEqual(
      [],
    );
    expect(
      plan([replica(0, { loadable: false }), replica(1, { hasRoom: false }), replica(2)], { min: 3 }),
    ).toEqual(['load 2']);
    // min above max: max wins.
    expect(plan([replica(0), replica(1)], { min: 2, max: 1 })).toEqual(['load 0']);
  });

  it('without a scale-down time, leaves warm nodes warm however long idle', () => {
    expect(plan([replica(0, { warm: true, idleMs: 1e9 })])).toEqual([]);
  });

  it('unloads the nodes idle past the scale-down time beyond autoscale.min, the longest idle first', () => {
    const replicas = [
      replica(0, { warm: true, idleMs: 400_000 }),
      replica(1, { warm: true, idleMs: 900_000 }),
      replica(2, { warm: true, idleMs: 10_000 }),
      replica(3, { warm: true, idleMs: 600_000 }),
    ];
    expect(plan(replicas, { idleMs: 300_000 })).toEqual(['unload 1', 'unload 3', 'unload 0']);
    expect(plan(replicas, { min: 2, idleMs: 300_000 })).toEqual(['unload 1', 'unload 3']);
    expect(plan(replicas, { min: 4, idleMs: 300_000 })).toEqual([]);
    // An unload under way is not asked again, and no longer counts as warm.
    expect(plan([replica(0, { warm: true, unloading: true, idleMs: 1e6 }), replica(1)], { min: 1 })).toEqual([
      'load 1',
    ]);
  });

  it('unloads the longest idle beyond autoscale.max once idle a while, jobs having scaled it up past the bound', () => {
    const replicas = [
      replica(0, { warm: true, idleMs: 50_000 }),
      replica(1, { warm: true, idleMs: 50 }),
      replica(2, { warm: true, idleMs: 90_000 }),
    ];
    expect(plan(replicas, { max: 1 })).toEqual(['unload 2', 'unload 0']);
    // Past max and idle too: each node is asked once.
    expect(plan(replicas, { max: 2, idleMs: 1_000 })).toEqual(['unload 2', 'unload 0']);
    // Every node in use: the extra ones stay until they are not.
    const busy = replicas.map((r) => ({ ...r, idleMs: 1_000 }));
    expect(plan(busy, { max: 1 })).toEqual([]);
  });

  it("aims at the nodes the pod's jobs need at the busy share, within the spec's bounds", () => {
    const bounds = { min: 1, max: 10 };
    const target = (jobs: number, slotsPerNode: number, busyShare: number) =>
      warmTarget(bounds, { jobs, slotsPerNode, busyShare }).count;
    expect(warmTarget(bounds, undefined)).toEqual({ count: 1, reason: 'autoscale.min is 1' });
    expect(target(0, 4, 0.7)).toBe(1);
    // 4 slots at 70 %: 2.8 jobs a node.
    expect(target(2, 4, 0.7)).toBe(1);
    expect(target(3, 4, 0.7)).toBe(2);
    expect(target(6, 4, 0.7)).toBe(3);
    // At 100 % only jobs beyond the slots call for a node.
    expect(target(8, 4, 1)).toBe(2);
    expect(target(9, 4, 1)).toBe(3);
    // A node announcing no slots counts as one.
    expect(target(2, 0, 1)).toBe(2);
    expect(target(1_000, 1, 0.5)).toBe(10);
    expect(warmTarget({ min: 3, max: 2 }, undefined).count).toBe(2);
    expect(warmTarget(bounds, { jobs: 5, slotsPerNode: 1, busyShare: 0.5 }).reason).toBe(
      "5 jobs at once would keep more than 50 % of the warm nodes' slots busy",
    );
    // An average: a fraction of a job counts, and is said to one decimal.
    expect(target(0.01, 4, 0.7)).toBe(1);
    expect(warmTarget({ min: 0, max: 9 }, { jobs: 2.96, slotsPerNode: 1, busyShare: 1 })).toEqual({
      count: 3,
      reason: "3 jobs at once would keep more than 100 % of the warm nodes' slots busy",
    });
  });

  it('loads for the jobs where memory is free and keeps the nodes they need through the scale-down', () => {
    const demand = { jobs: 6, slotsPerNode: 2, busyShare: 1 };
    const replicas = [
      replica(0, { warm: true, idleMs: 1e6 }),
      replica(1, { efficiency: 90, hasRoom: false }),
      replica(2, { efficiency: 30 }),
      replica(3, { efficiency: 60 }),
    ];
    const target = warmTarget({ min: 0, max: 64 }, demand);
    const planned = planPodScale({ podId, max: 64, target, replicas, scaleDownIdleMs: 1_000 });
    expect(planned.map((a) => `${a.kind} ${replicas.findIndex((r) => r.node === a.node)}`)).toEqual([
      'load 3',
      'load 2',
    ]);
    const idle = [0, 1, 2, 3].map((i) => replica(i, { warm: true, idleMs: 1e6 }));
    const kept = planPodScale({ podId, max: 64, target, replicas: idle, scaleDownIdleMs: 1_000 });
    expect(kept.map((a) => a.kind)).toEqual(['unload']);
  });
});
