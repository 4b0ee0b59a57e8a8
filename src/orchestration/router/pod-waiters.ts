// Jobs waiting for a slot on a busy pod. A freed slot wakes one waiter, the first in fair order
// (fair-share.ts), not all of them: waking all had every waiter pick again for one slot, so with
// thousands waiting each finished job cost the router milliseconds. A woken waiter that cannot use the
// slot (it failed on that node before), or that took one while more are free, hands the wake on; each
// waiter is woken at most once per freed slot, so a slot nobody can use does not go round forever.
// Changes that may decide for everyone (a node joins, leaves or is suspended) wake them all.
import { compareRanks, type WaitRank } from './fair-share.ts';

/** One job's place in the queue, kept across its waits. */
export interface WaitTicket {
  /** Lower goes first. */
  rank(): WaitRank;
  /** The round of wakes it was last woken in (set here). */
  wokenInRound?: number;
}

export class PodWaiters {
  readonly #waiting = new Map<WaitTicket, (woken: boolean) => void>();
  #round = 0;

  get size(): number {
    return this.#waiting.size;
  }

  /** Resolves true when woken by a change, false on abort. */
  wait(ticket: WaitTicket, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(false);
      const onAbort = () => finish(false);
      const finish = (woken: boolean) => {
        if (this.#waiting.get(ticket) !== finish) return;
        this.#waiting.delete(ticket);
        signal?.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      this.#waiting.set(ticket, finish);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Wakes every waiter, in fair order (they resume in the order woken; ties keep arrival order), as one
   * round: those that wait again are not handed a wake again until something else changes.
   */
  wakeAll(): void {
    if (this.#waiting.size === 0) return;
    this.#round++;
    const ranked = [...this.#waiting.keys()].map((ticket) => ({ ticket, rank: ticket.rank() }));
    ranked.sort((a, b) => compareRanks(a.rank, b.rank));
    for (const { ticket } of ranked) {
      ticket.wokenInRound = this.#round;
      this.#waiting.get(ticket)?.(true);
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
    for (const ticket of this.#waiting.keys()) {
      if (ticket.wokenInRound === this.#round) continue;
      const rank = ticket.rank();
      if (bestRank === undefined || compareRanks(rank, bestRank) < 0) {
        best = ticket;
        bestRank = rank;
      }
    }
    if (best === undefined) return;
    best.wokenInRound = this.#round;
    this.#waiting.get(best)?.(true);
  }
}
