import { describe, expect, it } from 'vitest';
import type { WaitRank } from './fair-share.ts';
import { PodWaiters, type WaitTicket } from './pod-waiters.ts';

/** A waiter of its own group unless one is given. */
function ticket(name: string, rank: WaitRank = [0, 0], group: unknown = name): WaitTicket & { name: string } {
  return { name, group, rank: () => rank };
}

/** Starts waiting and records the ticket's name once woken. */
function waitFor(
  waiters: PodWaiters,
  t: WaitTicket & { name: string },
  woken: string[],
  signal?: AbortSignal,
) {
  return waiters.wait(t, signal).then((byChange) => {
    if (byChange) woken.push(t.name);
    return byChange;
  });
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** What the dispatcher does when woken for a slot it cannot use: wait again, and hand the wake on. */
async function cannotUseIt(waiters: PodWaiters, t: WaitTicket & { name: string }, woken: string[]) {
  void waitFor(waiters, t, woken);
  waiters.handOff();
  await turn();
}

describe('PodWaiters', () => {
  it('wakes one waiter per freed slot, the first in fair order, then arrival order', async () => {
    const waiters = new PodWaiters();
    const woken: string[] = [];
    void waitFor(waiters, ticket('busy payer', [2, 5]), woken);
    void waitFor(waiters, ticket('first idle', [0, 3]), woken);
    void waitFor(waiters, ticket('second idle', [0, 3]), woken);
    waiters.slotFreed();
    await turn();
    expect(woken).toEqual(['first idle']);
    expect(waiters.size).toBe(2);
    waiters.slotFreed();
    waiters.slotFreed();
    await turn();
    expect(woken).toEqual(['first idle', 'second idle', 'busy payer']);
  });

  it('hands a wake on once per waiter and round, so a slot nobody can use does not go round', async () => {
    const waiters = new PodWaiters();
    const woken: string[] = [];
    const [a, b] = [ticket('a'), ticket('b')];
    void waitFor(waiters, a, woken);
    void waitFor(waiters, b, woken);
    waiters.slotFreed();
    await turn();
    // a cannot use it: it waits again and hands the wake on, to b, who cannot either.
    await cannotUseIt(waiters, a, woken);
    await cannotUseIt(waiters, b, woken);
    expect(woken).toEqual(['a', 'b']);
    expect(waiters.size).toBe(2);
    // The next freed slot is a new round.
    waiters.slotFreed();
    await turn();
    expect(woken).toEqual(['a', 'b', 'a']);
  });

  it('wakes all in fair order as one round, which hand-offs do not repeat', async () => {
    const waiters = new PodWaiters();
    const woken: string[] = [];
    const tickets = [ticket('late', [1, 0]), ticket('early', [0, 0])];
    for (const t of tickets) void waitFor(waiters, t, woken);
    waiters.wakeAll();
    await turn();
    expect(woken).toEqual(['early', 'late']);
    for (const t of tickets) void waitFor(waiters, t, woken);
    waiters.handOff();
    await turn();
    expect(woken).toEqual(['early', 'late']);
  });

  it("wakes a group's waiters in arrival order, and skips a group whose waiters were all tried", async () => {
    const waiters = new PodWaiters();
    const woken: string[] = [];
    const [p1, p2, q1] = [ticket('p1', [0, 1], 'p'), ticket('p2', [0, 1], 'p'), ticket('q1', [0, 2], 'q')];
    for (const t of [p1, p2, q1]) void waitFor(waiters, t, woken);
    waiters.slotFreed();
    await turn();
    expect(woken).toEqual(['p1']);
    // p1 could not use it: it waits again, behind p2, and hands on to p2, then p2 to q1.
    await cannotUseIt(waiters, p1, woken);
    await cannotUseIt(waiters, p2, woken);
    expect(woken).toEqual(['p1', 'p2', 'q1']);
    waiters.handOff();
    await turn();
    expect(woken).toEqual(['p1', 'p2', 'q1']);
    waiters.slotFreed();
    await turn();
    expect(woken).toEqual(['p1', 'p2', 'q1', 'p1']);
  });

  it('lets a waiter go on abort, and leaves it out of later wakes', async () => {
    const waiters = new PodWaiters();
    const woken: string[] = [];
    const controller = new AbortController();
    const aborted = waitFor(waiters, ticket('gone'), woken, controller.signal);
    void waitFor(waiters, ticket('stays'), woken);
    controller.abort();
    expect(await aborted).toBe(false);
    waiters.slotFreed();
    await turn();
    expect(woken).toEqual(['stays']);
    expect(await waiters.wait(ticket('too late'), controller.signal)).toBe(false);
    expect(waiters.size).toBe(0);
  });
});
