// A node may refuse a job as the caller's fault. Believed blindly, a node that refuses falsely would fail
// every job it is given and never be suspended. So the dispatcher asks another node when the budget
// allows; a refusal another node then serves is overruled, and a node overruled this many times in a row
// (no job served, no refusal upheld in between) is suspended as a failing node. One overruled refusal is
// not enough: honest nodes of one pod may differ (a smaller context, another upstream version).
import type { Address } from 'viem';

export const OVERRULED_IN_A_ROW = 3;

export class NodeRefusals {
  readonly #overruled = new Map<Address, number>();

  /** Another node served what `nodes` refused: those now overruled too often in a row. */
  overruled(nodes: Iterable<Address>): Address[] {
    const suspend: Address[] = [];
    for (const node of nodes) {
      const count = (this.#overruled.get(node) ?? 0) + 1;
      if (count >= OVERRULED_IN_A_ROW) {
        this.#overruled.delete(node);
        suspend.push(node);
      } else this.#overruled.set(node, count);
    }
    return suspend;
  }

  /** The node served a job, or another node agreed with its refusal: its run ends. */
  upheld(node: Address): void {
    this.#overruled.delete(node);
  }

  /** How many of its refusals in a row were overruled (0 when none). */
  count(node: Address): number {
    return this.#overruled.get(node) ?? 0;
  }
}
