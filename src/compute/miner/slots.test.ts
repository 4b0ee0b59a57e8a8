import { describe, expect, it } from 'vitest';
import { Slots } from './slots.ts';

describe('Slots', () => {
  it('hands out at most `total` slots', () => {
    const slots = new Slots(2, 0);
    expect(slots.tryTake(0)).toBe(true);
    expect(slots.tryTake(0)).toBe(true);
    expect(slots.tryTake(0)).toBe(false);
    expect(slots.free).toBe(0);
    slots.give(0);
    expect(slots.free).toBe(1);
    expect(slots.active).toBe(1);
  });

  it('measures the busy share of all slots over each window', () => {
    const slots = new Slots(2, 0);
    slots.tryTake(0); // one of two busy for the whole window
    expect(slots.sampleLoad(1_000)).toBe(0.5);
    slots.tryTake(1_000); // both busy for half of the next window
    slots.give(1_500);
    slots.give(1_500);
    expect(slots.sampleLoad(2_000)).toBe(0.5);
    expect(slots.sampleLoad(3_000)).toBe(0);
  });

  it('takes a new total: more slots at once, fewer once the running attempts are under it', () => {
    const slots = new Slots(2, 0);
    slots.tryTake(0);
    slots.tryTake(0);
    slots.resize(3, 0);
    expect([slots.total, slots.free]).toEqual([3, 1]);
    expect(slots.tryTake(0)).toBe(true);
    slots.resize(1, 0);
    expect([slots.free, slots.active]).toEqual([0, 3]);
    slots.give(0);
    slots.give(0);
    expect(slots.tryTake(0)).toBe(false);
    slots.give(0);
    expect(slots.tryTake(0)).toBe(true);
    expect(() => slots.resize(0)).toThrow(RangeError);
  });

  it('refuses to give back a slot nobody took, and a bad size', () => {
    expect(() => new Slots(1).give()).toThrow();
    expect(() => new Slots(0)).toThrow(RangeError);
    expect(() => new Slots(1.5)).toThrow(RangeError);
  });

  it('tells whoever waits when a slot is next given back, once', async () => {
    const slots = new Slots(1, 0);
    slots.tryTake(0);
    const heard: number[] = [];
    const first = slots.whenGiven().then(() => heard.push(slots.free));
    const second = slots.whenGiven().then(() => heard.push(slots.free));
    await Promise.resolve();
    expect(heard).toEqual([]);
    slots.give(1);
    await Promise.all([first, second]);
    expect(heard).toEqual([1, 1]);
    // Told once: a later give resolves only those waiting then.
    const later = slots.whenGiven();
    slots.tryTake(2);
    slots.give(3);
    await later;
  });
});
