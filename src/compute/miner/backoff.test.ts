import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from './backoff.ts';

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap', () => {
    const top = () => 1; // the largest jitter
    const delays = [0, 1, 2, 3, 10, 100].map((n) => backoffDelay(n, { initialMs: 100, maxMs: 1_000 }, top));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('keeps at least half of each step and jitters the rest', () => {
    expect(backoffDelay(2, { initialMs: 100 }, () => 0)).toBe(200);
    expect(backoffDelay(2, { initialMs: 100 }, () => 0.5)).toBe(300);
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(3, { initialMs: 100 });
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });

  it('treats a negative attempt as the first', () => {
    expect(backoffDelay(-3, { initialMs: 100 }, () => 1)).toBe(100);
  });

  it.each([
    [{ initialMs: 0 }],
    [{ initialMs: 100, maxMs: 50 }],
    [{ factor: 0.5 }],
    [{ initialMs: Number.NaN }],
  ])('refuses %o', (options) => {
    expect(() => backoffDelay(0, options)).toThrow(RangeError);
  });
});

describe('sleep', () => {
  it('returns at once when the signal fires', async () => {
    const controller = new AbortController();
    const slept = sleep(3_600_000, controller.signal);
    controller.abort();
    await expect(slept).resolves.toBeUndefined();
  });

  it('returns at once for an already aborted signal', async () => {
    await expect(sleep(3_600_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});
