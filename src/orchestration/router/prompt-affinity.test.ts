import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { PromptAffinity } from './prompt-affinity.ts';

const node = (i: number) => getAddress(`0x${String(i).padStart(40, '0')}`);
const pod = '0x01' as const;
const other = '0x02' as const;

describe('PromptAffinity', () => {
  it("remembers each pod's last node for a key, the latest winning", () => {
    const affinity = new PromptAffinity();
    expect(affinity.nodeFor(pod, 'a')).toBeUndefined();
    affinity.served(pod, 'a', node(1));
    affinity.served(other, 'a', node(2));
    expect(affinity.nodeFor(pod, 'a')).toBe(node(1));
    expect(affinity.nodeFor(other, 'a')).toBe(node(2));
    affinity.served(pod, 'a', node(3));
    expect(affinity.nodeFor(pod, 'a')).toBe(node(3));
    expect(affinity.size).toBe(2);
  });

  it('forgets the least recently served keys past its limit', () => {
    const affinity = new PromptAffinity(2);
    affinity.served(pod, 'a', node(1));
    affinity.served(pod, 'b', node(2));
    affinity.served(pod, 'a', node(1));
    affinity.served(pod, 'c', node(3));
    expect(affinity.size).toBe(2);
    expect(affinity.nodeFor(pod, 'b')).toBeUndefined();
    expect(affinity.nodeFor(pod, 'a')).toBe(node(1));
    expect(affinity.nodeFor(pod, 'c')).toBe(node(3));
    expect(() => new PromptAffinity(0)).toThrow(RangeError);
  });
});
