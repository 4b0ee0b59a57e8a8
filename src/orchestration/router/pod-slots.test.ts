// A node's slots per pod: its jobs of each pod, and the pods' own slots when the node announces them.
import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { PodSlots } from './pod-slots.ts';

const a: Hex = `0x${'aa'.repeat(32)}`;
const b: Hex = `0x${'bb'.repeat(32)}`;

describe('PodSlots', () => {
  it("counts each pod's jobs, and limits a pod to its own slots when the node keeps some", () => {
    const slots = new PodSlots();
    slots.started(a);
    slots.started(a);
    expect(slots.running(a)).toBe(2);
    // No limits announced: a pod's jobs take any of the node's free slots.
    expect(slots.ownFree(a)).toBeUndefined();
    expect(slots.free(a, 3)).toBe(3);
    slots.announce([
      { podId: a, total: 2 },
      { podId: b, total: 4 },
    ]);
    expect(slots.ownFree(a)).toBe(0);
    expect(slots.free(a, 3)).toBe(0);
    expect(slots.free(b, 3)).toBe(3);
    expect(slots.free(b, 1)).toBe(1);
    expect(slots.ownFreeByPod()).toEqual(
      new Map([
        [a, 0],
        [b, 4],
      ]),
    );
    slots.ended(a);
    expect(slots.free(a, 3)).toBe(1);
    slots.ended(a);
    expect(slots.running(a)).toBe(0);
    slots.started(b);
    slots.clear();
    expect(slots.running(b)).toBe(0);
    slots.announce(undefined);
    expect(slots.ownFree(b)).toBeUndefined();
  });
});
