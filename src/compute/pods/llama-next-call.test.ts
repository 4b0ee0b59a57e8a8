import type { Token } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { callDraw, callsAgain } from './llama-next-call.ts';

const NEXT = 10 as Token;
const END = 2 as Token;
const SUFFIX = 11 as Token;
const choice = { next: NEXT, ends: new Set([END, SUFFIX]) };
const odds = (entries: [number, number][]) => new Map(entries as [Token, number][]);

describe('callsAgain', () => {
  it('at temperature 0, the likelier of beginning another call and ending the calls wins; a tie ends', () => {
    expect(
      callsAgain(
        odds([
          [NEXT, 0.3],
          [END, 0.1],
          [SUFFIX, 0.1],
        ]),
        choice,
        0.99,
        true,
      ),
    ).toBe(true);
    expect(
      callsAgain(
        odds([
          [NEXT, 0.3],
          [END, 0.2],
          [SUFFIX, 0.2],
        ]),
        choice,
        0,
        true,
      ),
    ).toBe(false);
    expect(
      callsAgain(
        odds([
          [NEXT, 0.2],
          [END, 0.2],
        ]),
        choice,
        0,
        true,
      ),
    ).toBe(false);
  });

  it('otherwise draws by the two choices odds alone: the text the model might write instead plays no part', () => {
    // Another call 0.1 against ends 0.3 in all: a quarter of the draws call again.
    const split = odds([
      [NEXT, 0.1],
      [END, 0.2],
      [SUFFIX, 0.1],
      [99, 0.6],
    ]);
    expect(callsAgain(split, choice, 0.24, false)).toBe(true);
    expect(callsAgain(split, choice, 0.26, false)).toBe(false);
  });

  it('ends when another call has no odds at all, or begins as the calls end', () => {
    expect(callsAgain(odds([[END, 0.01]]), choice, 0, false)).toBe(false);
    expect(callsAgain(odds([[NEXT, 1]]), { next: NEXT, ends: new Set([NEXT]) }, 0, false)).toBe(false);
  });
});

describe('callDraw', () => {
  it('is uniform in [0, 1), the same for a seed and call, different across calls and seeds', () => {
    const draws = Array.from({ length: 64 }, (_, call) => callDraw(7, call));
    for (const d of draws) expect(d >= 0 && d < 1).toBe(true);
    expect(draws).toEqual(Array.from({ length: 64 }, (_, call) => callDraw(7, call)));
    expect(new Set(draws).size).toBe(64);
    expect(callDraw(8, 0)).not.toBe(callDraw(7, 0));
    const mean = draws.reduce((sum, d) => sum + d, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.3);
    expect(mean).toBeLessThan(0.7);
    expect(callDraw(undefined, 0)).not.toBe(callDraw(undefined, 0));
  });
});
