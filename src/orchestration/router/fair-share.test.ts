import { describe, expect, it } from 'vitest';
import { compareRanks, FairShare } from './fair-share.ts';

describe('FairShare', () => {
  it('puts the payer with fewer attempts running first, then the one served longest ago', () => {
    const share = new FairShare<string>();
    share.started('a');
    share.started('a');
    share.started('b');
    share.waitStarted('a');
    share.waitStarted('b');
    share.waitStarted('c');
    const order = ['a', 'b', 'c'].sort((x, y) => compareRanks(share.rank(x), share.rank(y)));
    expect(order).toEqual(['c', 'b', 'a']);
    share.ended('a');
    share.ended('a');
    share.ended('b');
    // Both idle now; b was served after a, so a goes first; c, never served, before both.
    expect(['b', 'a', 'c'].sort((x, y) => compareRanks(share.rank(x), share.rank(y)))).toEqual([
      'c',
      'a',
      'b',
    ]);
  });

  it('forgets a payer with nothing running or waiting', () => {
    const share = new FairShare<string>();
    share.waitStarted('a');
    share.started('a');
    share.waitEnded('a');
    expect(share.payers).toBe(1);
    expect(share.rank('a')).toEqual([1, 1]);
    share.ended('a');
    expect(share.payers).toBe(0);
    expect(share.rank('a')).toEqual([0, 0]);
  });
});
