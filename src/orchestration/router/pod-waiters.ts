// Jobs waiting for a slot on a busy pod. A freed slot wakes one waiter, the first in fair order
// (fair-share.ts), not all of them: waking all had every waiter pick again for one slot, so with
// thousands waiting each finished job cost the router milliseconds. A woken waiter that cannot use the
// slot (it failed on that node) or that took one while more are free hands the wake on; each waiter is
// woken at most once per freed slot, so a slot nobody can use does not go round forever. Changes that may
// decide for everyone (a node joins, leaves or is suspended) wake them all.
//
// Waiters are kept by group (the dispatcher's: one payer), whose members share a rank and wait in arrival
// order, so choosing whom to wake reads one waiter per group, not every waiter.
import { compareRanks, type WaitRank } from './fair-share.ts';

/** One job's place in the queue, kept across its waits. */
export interface WaitTicket {
  /** Tickets of a group share their rank and are woken in arrival order. */
  readonly group: unknown;
  /** Lower goes first. */
  rank(): WaitRank;
  /** The round of wakes it was last woken in (set here). */
  wokenInRound?: number;
}

export class PodWaiters {
  readonly #finishers = new Map<WaitTicket, (woken: boolean) => void>();
  // A Set keeps arrival order and lets an aborted waiter leave from anywhere in it.
  readonly #groups = new Map<unknown, Set<WaitTicket>>();
  #round = 0;

  get size(): number {
    return this.#finishers.size;
  }

  /** Resolves true when woken by a change, false on abort. */
  wait(ticket: WaitTicket, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(false);
      const onAbort = () => finish(false);
      const finish = (woken: boolean) => {
        if (this.#finishers.get(ticket) !== finish) return;
        this.#remove(ticket);
        signal?.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      this.#finishers.set(ticket, finish);
      let group = this.#groups.get(ticket.group);
      if (group === undefined) {
        group = new Set();
        this.#groups.set(ticket.group, group);
      }
      group.add(ticket);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Wakes every waiter, in fair order (they resume in the order woken), as one round: those that wait
   * again are not handed a wake again until something else changes.
   */
  wakeAll(): void {
    if (this.#finishers.size === 0) return;
    const round = ++this.#round;
    const groups = [...this.#groups.values()].map((tickets) => {
      const members = [...tickets];
      return { members, rank: (members[0] as WaitTicket).rank() };
    });
    groups.sort((a, b) => compareRanks(a.rank, b.rank));
    for (const { members } of groups) {
      for (const ticket of members) {
        ticket.wokenInRound = round;
        this.#finishers.get(ticket)?.(true);
      }
    }
  }

  /** A slot freed: a new round, and its first waiter woken. */
  slotFreed(): void {
    this.#round++;
    this.handOff();
  }

  /** Wakes the first waiter in fair order not woken yet in this round, if any. */
  handOff(): void {
    let best: WaitTicket | undefined;
    let bestRank: WaitRank | undefined;
    for (const tickets of this.#groups.values()) {
      // Woken ones that wait again go to the back of their group: a woken head means all were tried.
      const head = tickets.values().next().value as WaitTicket;
      if (head.wokenInRound === this.#round) continue;
      const rank = head.rank();
      if (bestRank === undefined || compareRanks(rank, bestRank) < 0) {
        best = head;
        bestRank = rank;
      }
    }
    if (best === undefined) return;
    best.wokenInRound = this.#round;
    this.#finishers.get(best)?.(true);
  }

  #remove(ticket: WaitTicket): void {
    this.#finishers.delete(ticket);
    const group = this.#groups.get(ticket.group);
    group?.delete(ticket);
    if (group?.size === 0) this.#groups.delete(ticket.group);
  }
}
