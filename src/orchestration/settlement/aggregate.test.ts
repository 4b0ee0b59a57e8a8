import { type Address, type Hex, zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { aggregateReceipts, type SettleableReceipt } from './aggregate.ts';

const addr = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`;
const pod = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;

describe('aggregateReceipts', () => {
  it('balances: debits and lines both sum to the total', () => {
    const receipts: SettleableReceipt[] = [];
    for (let i = 0; i < 500; i++) {
      receipts.push({
        payer: addr(1 + (i % 7)),
        podId: pod(1 + (i % 3)),
        node: addr(100 + (i % 5)),
        frontend: i % 2 === 0 ? zeroAddress : addr(200),
        price: BigInt(1_000 + i),
        computeUnits: BigInt(i),
      });
    }
    const batch = aggregateReceipts(receipts);
    const debited = batch.debits.reduce((sum, d) => sum + d.amount, 0n);
    const credited = batch.lines.reduce((sum, l) => sum + l.amount, 0n);
    expect(debited).toBe(batch.total);
    expect(credited).toBe(batch.total);
    expect(batch.debits).toHaveLength(7);
    expect(batch.lines).toHaveLength(3 * 5 * 2);
    expect(batch.lines.map((l) => l.podId)).toEqual([...batch.lines.map((l) => l.podId)].sort());
  });

  it('merges addresses that differ only in case', () => {
    const a = '0x00000000000000000000000000000000000000aB' as Address;
    const batch = aggregateReceipts([
      { payer: a, podId: pod(1), node: a, frontend: zeroAddress, price: 1n, computeUnits: 1n },
      {
        payer: a.toLowerCase() as Address,
        podId: pod(1),
        node: a.toLowerCase() as Address,
        frontend: zeroAddress,
        price: 2n,
        computeUnits: 1n,
      },
    ]);
    expect(batch.debits).toEqual([{ payer: a, amount: 3n }]);
    expect(batch.lines).toHaveLength(1);
  });

  it('refuses negative amounts', () => {
    expect(() =>
      aggregateReceipts([
        { payer: addr(1), podId: pod(1), node: addr(2), frontend: zeroAddress, price: -1n, computeUnits: 0n },
      ]),
    ).toThrow(RangeError);
  });

  it('an empty list gives an empty batch', () => {
    expect(aggregateReceipts([])).toEqual({ debits: [], lines: [], total: 0n });
  });
});
