import { describe, expect, it } from 'vitest';
import { AuthFailureLimit } from './auth-failures.ts';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('AuthFailureLimit', () => {
  it('lets an address fail up to the limit, then says how long to wait until its window ends', () => {
    const time = clock();
    const limit = new AuthFailureLimit({ maxFailures: 3, windowMs: 60_000, now: time.now });
    for (let i = 0; i < 3; i++) {
      expect(limit.retryAfterSeconds('10.0.0.1')).toBeUndefined();
      limit.record('10.0.0.1');
    }
    expect(limit.retryAfterSeconds('10.0.0.1')).toBe(60);
    expect(limit.retryAfterSeconds('10.0.0.2')).toBeUndefined();
    time.advance(59_001);
    expect(limit.retryAfterSeconds('10.0.0.1')).toBe(1);
    time.advance(999);
    expect(limit.retryAfterSeconds('10.0.0.1')).toBeUndefined();
    // A new window starts from nothing.
    limit.record('10.0.0.1');
    expect(limit.retryAfterSeconds('10.0.0.1')).toBeUndefined();
  });

  it('never limits with maxFailures 0', () => {
    const limit = new AuthFailureLimit({ maxFailures: 0 });
    for (let i = 0; i < 100; i++) limit.record('10.0.0.1');
    expect(limit.retryAfterSeconds('10.0.0.1')).toBeUndefined();
    expect(limit.tracked).toBe(0);
  });

  it('tracks a bounded number of addresses, forgetting ended windows and then the oldest', () => {
    const time = clock();
    const limit = new AuthFailureLimit({ maxFailures: 1, windowMs: 1_000, maxAddresses: 3, now: time.now });
    for (const address of ['a', 'b', 'c']) limit.record(address);
    time.advance(500);
    limit.record('d');
    expect(limit.tracked).toBe(3);
    expect(limit.retryAfterSeconds('a')).toBeUndefined();
    expect(limit.retryAfterSeconds('d')).toBe(1);
    time.advance(600);
    limit.record('e');
    // b and c ended; d and e remain.
    expect(limit.tracked).toBe(2);
  });

  it.each([{ maxFailures: -1 }, { maxFailures: 1.5 }, { windowMs: 0 }, { windowMs: Number.NaN }])(
    'refuses %o',
    (options) => expect(() => new AuthFailureLimit(options)).toThrow(RangeError),
  );
});
