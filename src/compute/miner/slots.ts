// The node's job slots: how many attempts run at once, and how busy they were (the heartbeat's `load`).
import { performance } from 'node:perf_hooks';

export class Slots {
  #total: number;
  private busy = 0;
  private busyMs = 0;
  private lastChange: number;
  private windowStart: number;
  private readonly freedWaiters: Array<() => void> = [];

  constructor(total: number, now = performance.now()) {
    checkTotal(total);
    this.#total = total;
    this.lastChange = now;
    this.windowStart = now;
  }

  get total(): number {
    return this.#total;
  }

  get free(): number {
    return Math.max(0, this.#total - this.busy);
  }

  /**
   * A new number of slots (the node's pods changed). Fewer than are busy: the running attempts finish,
   * and no new one starts until they are under the new total.
   */
  resize(total: number, now = performance.now()): void {
    checkTotal(total);
    this.account(now);
    this.#total = total;
  }

  get active(): number {
    return this.busy;
  }

  /** Takes a slot when one is free. */
  tryTake(now = performance.now()): boolean {
    if (this.busy >= this.#total) return false;
    this.account(now);
    this.busy++;
    return true;
  }

  give(now = performance.now()): void {
    if (this.busy === 0) throw new Error('no slot is taken');
    this.account(now);
    this.busy--;
    if (this.freedWaiters.length > 0) for (const resolve of this.freedWaiters.splice(0)) resolve();
  }

  /** Resolves when a slot is next given back. */
  whenGiven(): Promise<void> {
    return new Promise((resolve) => this.freedWaiters.push(resolve));
  }

  /** Busy share of all slots since the previous sample, 0..1; starts a new window. */
  sampleLoad(now = performance.now()): number {
    this.account(now);
    const span = now - this.windowStart;
    const load = span <= 0 ? this.busy / this.#total : this.busyMs / (span * this.#total);
    this.busyMs = 0;
    this.windowStart = now;
    return Math.min(1, Math.max(0, load));
  }

  private account(now: number): void {
    this.busyMs += this.busy * Math.max(0, now - this.lastChange);
    this.lastChange = now;
  }
}

function checkTotal(total: number): void {
  if (!Number.isInteger(total) || total < 1) throw new RangeError('slots must be a positive integer');
}
