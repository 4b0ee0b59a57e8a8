import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { UptimeTracker } from './uptime-tracker.ts';

const node = getAddress('0x00000000000000000000000000000000000000aa');

describe('UptimeTracker', () => {
  it('measures connected time over at least the minimum window', () => {
    let now = 1_000_000;
    const tracker = new UptimeTracker({ minWindowMs: 1_000, now: () => now });
    expect(tracker.uptime(node)).toBe(0);
    tracker.connected(node);
    now += 100;
    // Seen for 100 ms: measured over the 1 s minimum window.
    expect(tracker.uptime(node)).toBeCloseTo(0.1);
    // What it is made of: all of the time seen.
    expect(tracker.history(node)).toEqual({ seenMs: 100, connectedMs: 100 });
    now += 900;
    expect(tracker.uptime(node)).toBe(1);
    tracker.disconnected(node);
    now += 1_000;
    expect(tracker.uptime(node)).toBeCloseTo(0.5);
    tracker.connected(node);
    tracker.connected(node);
    now += 2_000;
    expect(tracker.uptime(node)).toBeCloseTo(0.75);
    tracker.disconnected(node);
    tracker.disconnected(node);
    expect(tracker.uptime(node)).toBeCloseTo(0.75);
    expect(tracker.history(node)).toEqual({ seenMs: 4_000, connectedMs: 3_000 });
    expect(tracker.history(getAddress('0x00000000000000000000000000000000000000bb'))).toBeUndefined();
  });
});
