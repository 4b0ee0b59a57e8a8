import { describe, expect, it } from 'vitest';
import { PodAbortedError, PodError, PodNotLoadedError } from './errors.ts';
import { SlotPool } from './slot-pool.ts';

describe('SlotPool', () => {
  it('hands out free slots, then queues jobs in arrival order', async () => {
    const pool = new SlotPool(['a', 'b']);
    const first = await pool.acquire();
    const second = await pool.acquire();
    expect([first, second]).toEqual(['a', 'b']);
    expect(pool.busy).toBe(2);
    const order: string[] = [];
    const third = pool.acquire().then((slot) => order.push(`third:${slot}`));
    const fourth = pool.acquire().then((slot) => order.push(`fourth:${slot}`));
    expect(pool.waiting).toBe(2);
    pool.release(second);
    pool.release(first);
    await Promise.all([third, fourth]);
    expect(order).toEqual(['third:b', 'fourth:a']);
  });

  it('hands out the free slot a job prefers most, the first of equals; a waiting job takes the next freed', async () => {
    const pool = new SlotPool(['a', 'bb', 'ccc', 'dd']);
    const length = (slot: string) => slot.length;
    expect(await pool.acquire(undefined, length)).toBe('ccc');
    expect(await pool.acquire(undefined, length)).toBe('bb');
    expect(await pool.acquire(undefined, () => 0)).toBe('a');
    const last = await pool.acquire(undefined, length);
    expect(last).toBe('dd');
    const waiting = pool.acquire(undefined, (slot) => (slot === 'ccc' ? 1 : 0));
    pool.release(last);
    expect(await waiting).toBe('dd');
  });

  it('gives the slot back however a job ends', async () => {
    const pool = new SlotPool([1]);
    await expect(pool.run(undefined, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await pool.run(undefined, async (slot) => slot + 1)).toBe(2);
    expect(pool.busy).toBe(0);
  });

  it('lets a waiting job leave the queue when its signal fires', async () => {
    const pool = new SlotPool([1]);
    const held = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(PodAbortedError);
    expect(pool.waiting).toBe(0);
    pool.release(held);
    expect(pool.busy).toBe(0);
    await expect(pool.acquire(AbortSignal.abort())).rejects.toBeInstanceOf(PodAbortedError);
  });

  it('passes on the reason when the runtime aborts a waiting job with a PodError', async () => {
    const pool = new SlotPool([1]);
    await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort(new PodNotLoadedError('unloading'));
    await expect(waiting).rejects.toBeInstanceOf(PodNotLoadedError);
  });

  it('rejects waiting and later jobs once closed', async () => {
    const pool = new SlotPool([1]);
    await pool.acquire();
    const waiting = pool.acquire();
    pool.close();
    await expect(waiting).rejects.toBeInstanceOf(PodNotLoadedError);
    await expect(pool.acquire()).rejects.toBeInstanceOf(PodError);
  });

  it('needs at least one slot', () => {
    expect(() => new SlotPool([])).toThrow(RangeError);
  });
});
