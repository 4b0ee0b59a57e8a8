import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { PodDemand } from './pod-demand.ts';

const a = `0x${'aa'.repeat(32)}` as Hex;
const b = `0x${'bb'.repeat(32)}` as Hex;

describe('PodDemand', () => {
  it("counts each pod's running and waiting jobs, and all of them together", () => {
    const demand = new PodDemand();
    demand.started(a);
    demand.started(a);
    demand.waitStarted(a);
    demand.waitStarted(b);
    expect(demand.of(a)).toEqual({ running: 2, queued: 1 });
    expect(demand.of(b)).toEqual({ running: 0, queued: 1 });
    expect(demand.total).toEqual({ inFlight: 2, queued: 2 });
    // What `of` returns is a copy: later jobs do not change it.
    const seen = demand.of(a);
    demand.ended(a);
    expect(seen).toEqual({ running: 2, queued: 1 });
    demand.ended(a);
    demand.waitEnded(a);
    demand.waitEnded(b);
    expect(demand.of(a)).toEqual({ running: 0, queued: 0 });
    expect(demand.total).toEqual({ inFlight: 0, queued: 0 });
  });
});
