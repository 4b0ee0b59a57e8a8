import { describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { NodeRefusals, OVERRULED_IN_A_ROW } from './node-refusals.ts';

const [a, b] = [devAccount(10).address, devAccount(11).address];

describe('NodeRefusals', () => {
  it('names a node overruled three times in a row, once, and starts it again', () => {
    const refusals = new NodeRefusals();
    expect(OVERRULED_IN_A_ROW).toBe(3);
    expect(refusals.overruled([a, b])).toEqual([]);
    expect(refusals.overruled([a])).toEqual([]);
    expect(refusals.overruled([a, b])).toEqual([a]);
    expect([refusals.count(a), refusals.count(b)]).toEqual([0, 2]);
  });

  it('forgets a run once the node is upheld', () => {
    const refusals = new NodeRefusals();
    refusals.overruled([a]);
    refusals.overruled([a]);
    refusals.upheld(a);
    expect(refusals.overruled([a])).toEqual([]);
    expect(refusals.count(a)).toBe(1);
  });
});
