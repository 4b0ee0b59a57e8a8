import { describe, expect, it } from 'vitest';
import { podId } from '../../protocol/pod-spec.ts';
import { samplePodSpec } from '../../protocol/testing/samples.ts';
import { canLoad, compareVersions, hasRoom, misfit } from './node-fit.ts';
import { efficiencyBand, uptimeBand } from './node-rank.ts';

describe('compareVersions', () => {
  it('compares dotted numbers numerically', () => {
    expect(compareVersions('12.10', '12.4')).toBeGreaterThan(0);
    expect(compareVersions('3.11', '3.11.0')).toBe(0);
    expect(compareVersions('3.9.18', '3.10')).toBeLessThan(0);
    expect(compareVersions('550.54.14', '550')).toBeGreaterThan(0);
  });

  it('ignores text around the numbers and treats a version without numbers as 0', () => {
    expect(compareVersions('v20.19.0', '20.19')).toBe(0);
    expect(compareVersions('12.4-rc1', '12.4')).toBe(0);
    expect(compareVersions('unknown', '0')).toBe(0);
    expect(compareVersions('unknown', '1')).toBeLessThan(0);
  });
});

describe('node fit', () => {
  const spec = samplePodSpec({ minVramMiB: 4_000, software: { cuda: '12.1' } });
  const gpu = { name: 'RTX', vramMiB: 8_000, cuda: '12.4' };

  it('says why a node does not fit', () => {
    const base = { ramMiB: 64_000, efficiency: 1, runtimes: ['llama-cpp'] };
    expect(misfit({ ...base, gpus: [gpu] }, spec)).toBeUndefined();
    expect(misfit({ ...base, gpus: [{ ...gpu, vramMiB: 2_000 }] }, spec)).toMatch(/4000 MiB/);
    expect(misfit({ ...base, gpus: [] }, spec)).toMatch(/CUDA 12.1/);
    expect(misfit({ ...base, gpus: [{ ...gpu, cuda: '11.8' }] }, spec)).toMatch(/CUDA/);
    expect(
      misfit({ ...base, gpus: [gpu] }, samplePodSpec({ minVramMiB: 0, software: { python: '3.10' } })),
    ).toMatch(/Python/);
    expect(
      misfit({ ...base, gpus: [gpu] }, samplePodSpec({ minVramMiB: 0, software: { driver: '550' } })),
    ).toMatch(/driver/);
    const id = podId(spec);
    expect(canLoad({ ...base, gpus: [] }, spec, id)).toBe(true);
    expect(canLoad({ ...base, runtimes: ['process'], gpus: [] }, spec, id)).toBe(false);
    // A node that lists the pods it hosts loads only those.
    expect(canLoad({ ...base, gpus: [], hostedPods: [id] }, spec, id)).toBe(true);
    expect(canLoad({ ...base, gpus: [], hostedPods: [`0x${'cd'.repeat(32)}`] }, spec, id)).toBe(false);
  });
});

describe('node rank bands', () => {
  it('groups efficiencies within 10 % and clamps uptime', () => {
    expect(efficiencyBand(75)).toBe(efficiencyBand(80));
    expect(efficiencyBand(100)).toBeGreaterThan(efficiencyBand(80));
    expect(efficiencyBand(0)).toBeLessThan(efficiencyBand(0.001));
    expect(uptimeBand(0.994)).toBe(99);
    expect(uptimeBand(2)).toBe(100);
    expect(uptimeBand(-1)).toBe(0);
  });
});

describe('hasRoom', () => {
  const spec = samplePodSpec({ minVramMiB: 4_000, software: {} });
  const id = podId(spec);
  const other = `0x${'cd'.repeat(32)}` as const;

  it("judges the room for a pod by the node's own estimate of it, else by its spec", () => {
    const memory = { budgetMiB: 24_000, heldMiB: 19_000 };
    // 5,000 MiB free: room for the spec's 4,000 MiB...
    expect(hasRoom({ podMemory: memory }, id, spec)).toBe(true);
    // ...not for the 6,500 the node says the pod holds there with its KV cache.
    expect(hasRoom({ podMemory: { ...memory, pods: [{ podId: id, mib: 6_500 }] } }, id, spec)).toBe(false);
    // A pod the node does not estimate needs its spec's; one an upstream server holds needs none.
    expect(hasRoom({ podMemory: { ...memory, pods: [{ podId: other, mib: 9_000 }] } }, id, spec)).toBe(true);
    const full = { budgetMiB: 24_000, heldMiB: 24_000, pods: [{ podId: id, mib: 0 }] };
    expect(hasRoom({ podMemory: full }, id, spec)).toBe(true);
    // A node that says nothing of its memory is taken to have room.
    expect(hasRoom({}, id, spec)).toBe(true);
  });
});
