import { describe, expect, it } from 'vitest';
import { runBenchmark } from './benchmark.ts';

describe('runBenchmark', () => {
  it('measures a positive, finite throughput', () => {
    const result = runBenchmark({ size: 32, repetitions: 2 });
    expect(Number.isFinite(result.gflops)).toBe(true);
    expect(result.gflops).toBeGreaterThan(0);
    expect(result.elapsedMs).toBeGreaterThan(0);
  });

  it('does the same work every time: the checksum of the product repeats', () => {
    const a = runBenchmark({ size: 24, repetitions: 1 });
    const b = runBenchmark({ size: 24, repetitions: 3 });
    expect(a.checksum).toBe(b.checksum);
    expect(a.checksum).not.toBe(0);
  });

  it.each([
    [{ size: 0 }],
    [{ size: 1.5 }],
    [{ size: 4096 }],
    [{ repetitions: 0 }],
    [{ repetitions: Number.NaN }],
  ])('refuses %o', (options) => {
    expect(() => runBenchmark(options)).toThrow(RangeError);
  });
});
