// Who goes first among jobs waiting for a busy pod: the payer with the fewest attempts running, then the
// payer served longest ago, then the job that has waited longest. Without it the queue is first come,
// first served, and one payer's burst holds every other payer back until it has drained.

/** Lower goes first; compared element by element. */
export type WaitRank = readonly [running: number, lastServed: number];

export class FairShare<Payer> {
  readonly #running = new Map<Payer, number>();
  readonly #waiting = new Map<Payer, number>();
  readonly #lastServed = new Map<Payer, number>();
  #tick = 0;

  /** A slot went to one of `payer`'s attempts. */
  started(payer: Payer): void {
    add(this.#running, payer, 1);
    this.#lastServed.set(payer, ++this.#tick);
  }

  /** One of `payer`'s attempts ended. */
  ended(payer: Payer): void {
    add(this.#running, payer, -1);
    this.#forgetIfIdle(payer);
  }

  waitStarted(payer: Payer): void {
    add(this.#waiting, payer, 1);
  }

  waitEnded(payer: Payer): void {
    add(this.#waiting, payer, -1);
    this.#forgetIfIdle(payer);
  }

  rank(payer: Payer): WaitRank {
    return [this.#running.get(payer) ?? 0, this.#lastServed.get(payer) ?? 0];
  }

  /** Payers with attempts running or waiting (the memory kept). */
  get payers(): number {
    return new Set([...this.#running.keys(), ...this.#waiting.keys()]).size;
  }

  // A payer with nothing running or waiting needs no place in the order: it goes first when it comes back,
  // as it would after any wait.
  #forgetIfIdle(payer: Payer): void {
    if (this.#running.has(payer) || this.#waiting.has(payer)) return;
    this.#lastServed.delete(payer);
  }
}

function add<K>(counts: Map<K, number>, key: K, delta: number): void {
  const next = (counts.get(key) ?? 0) + delta;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}

export function compareRanks(a: WaitRank, b: WaitRank): number {
  return a[0] - b[0] || a[1] - b[1];
}
