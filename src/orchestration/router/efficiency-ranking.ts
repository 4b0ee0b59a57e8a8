import type { Address } from 'viem';
import { efficiencyBand } from './node-rank.ts';

/**
 * The efficiency each connected node is ranked by: what it announces (its own benchmark), lowered
 * - to the figure its pace implies, when the router has timed it far below its claim (a cap: pace-check.ts);
 * - while the router has not timed it against a peer yet (on probation), to the best figure of the
 *   connected nodes it has timed: a claim counts only as far as some node was seen to live up to, so
 *   announcing more than anyone wins no picks before the router could check it. A network where no node
 *   was timed yet takes every claim as it is.
 * Caps and timing are kept across reconnects, as votes are. Each change returns the nodes whose figure may
 * have moved, for the scheduler to re-rank: the node itself, and every node on probation when the best
 * timed figure changed band.
 */
export class EfficiencyRanking {
  readonly #caps = new Map<Address, number>();
  readonly #timed = new Set<Address>();
  /** Connected nodes, by the efficiency they announce. */
  readonly #announced = new Map<Address, number>();
  /** The best figure of the connected timed nodes, and the node holding it. */
  #ceiling: { node: Address; efficiency: number } | undefined;

  connect(node: Address, announced: number): Address[] {
    this.#announced.set(node, announced);
    return this.#changed(node);
  }

  disconnect(node: Address): Address[] {
    if (!this.#announced.delete(node)) return [];
    return this.#changed(node);
  }

  /** Ranks the node by at most `cap`; undefined lifts it. */
  cap(node: Address, cap: number | undefined): Address[] {
    if (cap === undefined) this.#caps.delete(node);
    else this.#caps.set(node, cap);
    return this.#changed(node);
  }

  /** The router has timed the node against a peer: its probation ends. */
  timed(node: Address): Address[] {
    if (this.#timed.has(node)) return [];
    this.#timed.add(node);
    return this.#changed(node);
  }

  capOf(node: Address): number | undefined {
    return this.#caps.get(node);
  }

  /** The figure a connected node is ranked by (its announced one when not connected). */
  ranked(node: Address, announced = this.#announced.get(node) ?? 0): number {
    const capped = this.#capped(node, announced);
    const ceiling = this.#ceiling?.efficiency;
    return this.#timed.has(node) || ceiling === undefined ? capped : Math.min(capped, ceiling);
  }

  #capped(node: Address, announced: number): number {
    const cap = this.#caps.get(node);
    return cap === undefined ? announced : Math.min(announced, cap);
  }

  /** After `node` changed: itself, and the nodes on probation when the ceiling moved to another band. */
  #changed(node: Address): Address[] {
    if (!this.#timed.has(node)) return [node];
    const before = this.#ceiling === undefined ? undefined : efficiencyBand(this.#ceiling.efficiency);
    this.#updateCeiling(node);
    const after = this.#ceiling === undefined ? undefined : efficiencyBand(this.#ceiling.efficiency);
    if (before === after) return [node];
    return [node, ...[...this.#announced.keys()].filter((other) => !this.#timed.has(other))];
  }

  #updateCeiling(node: Address): void {
    const announced = this.#announced.get(node);
    const figure = announced === undefined ? undefined : this.#capped(node, announced);
    const ceiling = this.#ceiling;
    if (figure !== undefined && (ceiling === undefined || figure >= ceiling.efficiency)) {
      this.#ceiling = { node, efficiency: figure };
      return;
    }
    // Only losing its holder (or its holder's figure falling) can lower the best figure: read them all.
    if (ceiling?.node !== node) return;
    this.#ceiling = undefined;
    for (const [other, claim] of this.#announced) {
      if (!this.#timed.has(other)) continue;
      const value = this.#capped(other, claim);
      if (this.#ceiling === undefined || value > this.#ceiling.efficiency) {
        this.#ceiling = { node: other, efficiency: value };
      }
    }
  }
}
