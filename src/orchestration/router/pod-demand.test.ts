import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { PodDemand } from './pod-demand.ts';

const a = `0x${'aa'.repeat(32)}` as Hex;
const b = `0x${'bb'.repeat(32)}` as Hex;

describe('PodDemand', () => {
  it("counts each pod's running and waiting jobs, and all of them together", () => {
    const demand = new PodDemand(() => 0);
    demand.started(a);
    demand.started(a);
    demand.waitStarted(a);
    demand.waitStarted(b);
    expect(demand.of(a)).toMatchObject({ running: 2, queued: 1 });
    expect(demand.of(b)).toMatchObject({ running: 0, queued: 1 });
    expect(demand.total).toEqual({ inFlight: 2, queued: 2 });
    demand.ended(a);
    demand.ended(a);
    demand.waitEnded(a);
    demand.waitEnded(b);
    expect(demand.of(a)).toMatchObject({ running: 0, queued: 0 });
    expect(demand.total).toEqual({ inFlight: 0, queued: 0 });
  });

  it('integrates the jobs over time, so two reads give the average between them', () => {
    let now = 1_000;
    const demand = new PodDemand(() => now);
    expect(demand.of(a)).toEqual({ running: 0, queued: 0, jobMs: 0, at: 1_000 });
    const first = demand.of(a);
    demand.started(a);
    now += 300;
    demand.waitStarted(a);
    now += 200;
    demand.ended(a);
    now += 500;
    // 1 job for 300 ms, 2 for 200 ms, then 1 waiting for 500 ms.
    const second = demand.of(a);
    expect(second).toEqual({ running: 0, queued: 1, jobMs: 300 + 400 + 500, at: 2_000 });
    expect((second.jobMs - first.jobMs) / (second.at - first.at)).toBe(1.2);
    // Reading changes nothing; the integral goes on from where it was once the pod is quiet.
    demand.waitEnded(a);
    now += 10_000;
    expect(demand.of(a).jobMs).toBe(1_200);
    expect(demand.of(b).jobMs).toBe(0);
  });
});
