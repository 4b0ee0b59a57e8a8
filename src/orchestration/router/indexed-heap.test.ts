import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../protocol/mulberry32.ts';
import { IndexedHeap } from './indexed-heap.ts';

interface Item {
  id: number;
  key: number;
}

const comesFirst = (a: Item, b: Item) => a.key < b.key || (a.key === b.key && a.id < b.id);

describe('IndexedHeap', () => {
  it('is empty at first', () => {
    const heap = new IndexedHeap(comesFirst);
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
    expect(heap.remove({ id: 1, key: 1 })).toBe(false);
    expect(heap.first(() => true)).toBeUndefined();
  });

  it('agrees with a sorted list over 5,000 random pushes, removals and key changes', () => {
    const next = mulberry32(42);
    const heap = new IndexedHeap(comesFirst);
    const items: Item[] = Array.from({ length: 300 }, (_, id) => ({ id, key: 0 }));
    const inside = new Set<Item>();
    for (let step = 0; step < 5_000; step++) {
      const item = items[Math.floor(next() * items.length)] as Item;
      const roll = next();
      if (roll < 0.4) {
        item.key = Math.floor(next() * 50);
        heap.push(item);
        inside.add(item);
      } else if (roll < 0.6) {
        expect(heap.remove(item)).toBe(inside.delete(item));
      } else if (roll < 0.9) {
        item.key = Math.floor(next() * 50);
        heap.update(item);
      } else if (inside.size > 0) {
        const expected = [...inside].sort((a, b) => (comesFirst(a, b) ? -1 : 1))[0];
        const popped = heap.pop();
        expect(popped).toBe(expected);
        inside.delete(popped as Item);
      }
      const best = [...inside].sort((a, b) => (comesFirst(a, b) ? -1 : 1))[0];
      expect(heap.peek()).toBe(best);
      expect(heap.size).toBe(inside.size);
    }
  });

  it('finds the first accepted item in order and leaves the heap as it was', () => {
    const heap = new IndexedHeap(comesFirst);
    const items = [5, 1, 4, 2, 3].map((key) => ({ id: key, key }));
    for (const item of items) heap.push(item);
    expect(heap.first((item) => item.key >= 3)?.key).toBe(3);
    expect(heap.first(() => false)).toBeUndefined();
    expect(heap.size).toBe(5);
    expect([1, 2, 3, 4, 5].map(() => heap.pop()?.key)).toEqual([1, 2, 3, 4, 5]);
  });

  it('re-ranks an item pushed twice instead of adding it again', () => {
    const heap = new IndexedHeap(comesFirst);
    const a = { id: 1, key: 1 };
    const b = { id: 2, key: 2 };
    heap.push(a);
    heap.push(b);
    a.key = 3;
    heap.push(a);
    expect(heap.size).toBe(2);
    expect(heap.peek()).toBe(b);
    expect([...heap]).toHaveLength(2);
  });

  it('removes and forgets items, and takes a removed item back', () => {
    const heap = new IndexedHeap(comesFirst);
    const a = { id: 1, key: 1 };
    const b = { id: 2, key: 2 };
    heap.push(a);
    heap.push(b);
    expect(heap.remove(a)).toBe(true);
    expect(heap.has(a)).toBe(false);
    expect(heap.remove(a)).toBe(false);
    heap.update(a);
    expect(heap.size).toBe(1);
    heap.push(a);
    expect(heap.peek()).toBe(a);
    expect(heap.forget(a)).toBe(true);
    expect(heap.forget(a)).toBe(false);
    expect([heap.has(a), heap.peek(), heap.size]).toEqual([false, b, 1]);
  });
});
