import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { EfficiencyRanking } from './efficiency-ranking.ts';

const [a, b, c, d] = [10, 11, 12, 13].map((i) => devAccount(i).address) as [
  Address,
  Address,
  Address,
  Address,
];

describe('EfficiencyRanking', () => {
  it('takes every claim as it is while no node was timed', () => {
    const ranking = new EfficiencyRanking();
    ranking.connect(a, 10);
    ranking.connect(b, 1_000);
    expect([ranking.ranked(a), ranking.ranked(b)]).toEqual([10, 1_000]);
  });

  it('ranks a node on probation at most as the best timed node, in full once timed itself', () => {
    const ranking = new EfficiencyRanking();
    ranking.connect(a, 10);
    ranking.connect(b, 1_000);
    // The first node timed sets the ceiling: every node on probation may have moved.
    expect(ranking.timed(a).sort()).toEqual([a, b].sort());
    expect([ranking.ranked(a), ranking.ranked(b)]).toEqual([10, 10]);
    // A modest claim on probation stands below the ceiling.
    ranking.connect(c, 5);
    expect(ranking.ranked(c)).toBe(5);
    expect(ranking.timed(b)).toEqual(expect.arrayContaining([b, c]));
    expect(ranking.ranked(b)).toBe(1_000);
    expect(ranking.timed(b)).toEqual([]);
  });

  it('follows the best connected timed figure as nodes come, go and are capped', () => {
    const ranking = new EfficiencyRanking();
    for (const [node, claim] of [
      [a, 10],
      [b, 40],
      [d, 1_000],
    ] as const)
      ranking.connect(node, claim);
    ranking.timed(a);
    ranking.timed(b);
    expect(ranking.ranked(d)).toBe(40);
    // Its holder capped, the ceiling falls to the next best timed figure.
    expect(ranking.cap(b, 5)).toEqual(expect.arrayContaining([b, d]));
    expect(ranking.ranked(d)).toBe(10);
    ranking.cap(b, undefined);
    expect(ranking.ranked(d)).toBe(40);
    // Its holder gone, likewise; back (timing and caps are kept across reconnects), likewise restored.
    ranking.disconnect(b);
    expect(ranking.ranked(d)).toBe(10);
    ranking.connect(b, 40);
    expect(ranking.ranked(b)).toBe(40);
    expect(ranking.ranked(d)).toBe(40);
    // A new claim of a timed node moves the ceiling with it; a move within one band reports itself only.
    expect(ranking.connect(b, 41)).toEqual([b]);
    expect(ranking.ranked(d)).toBe(41);
    ranking.disconnect(a);
    ranking.disconnect(b);
    expect(ranking.ranked(d)).toBe(1_000);
  });

  it('keeps a cap below the announced figure only', () => {
    const ranking = new EfficiencyRanking();
    ranking.connect(a, 10);
    ranking.cap(a, 100);
    expect(ranking.ranked(a)).toBe(10);
    ranking.cap(a, 2);
    expect([ranking.ranked(a), ranking.capOf(a)]).toEqual([2, 2]);
    expect(ranking.disconnect(c)).toEqual([]);
  });
});
