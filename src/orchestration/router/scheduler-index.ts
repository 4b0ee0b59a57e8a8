// The scheduler's index (scheduler.ts): each connected node's ranking entry, and per pod the heaps of its
// available nodes by tier.
import type { Address, Hex } from 'viem';
import type { PodSpec } from '../../protocol/pod-spec.ts';
import { IndexedHeap } from './indexed-heap.ts';
import { hasRoom, type NodeHardware } from './node-fit.ts';
import { type NodeRank, ranksBefore } from './node-rank.ts';
import { PodWaiters } from './pod-waiters.ts';

/** A connected node as the heaps order it. */
export class NodeEntry implements NodeRank {
  efficiencyBand = 0;
  uptimeBand = 0;
  freeSlots = 0;
  /** Pods keeping slots of their own on the node: how many of those are free. */
  podFreeSlots = new Map<Hex, number>();
  draining = false;
  available = false;
  warm = new Set<Hex>();
  readonly cannotLoad = new Set<Hex>();
  /** Per pod, the heaps this node belongs to while it is available. */
  readonly placements = new Map<PodIndex, IndexedHeap<NodeEntry>[]>();
  constructor(
    readonly node: Address,
    public hardware: NodeHardware,
    public votes: bigint,
    readonly joinOrder: number,
  ) {}
}

const newHeap = () => new IndexedHeap<NodeEntry>(ranksBefore);

/** Nodes that would load the pod cold: those with room for it first, then by rank. */
const newColdHeap = (podId: Hex, spec: PodSpec) =>
  new IndexedHeap<NodeEntry>((a, b) => {
    const room = hasRoom(a.hardware, podId, spec);
    return room !== hasRoom(b.hardware, podId, spec) ? room : ranksBefore(a, b);
  });

/**
 * Per pod: the nodes that can host it, and heaps of the available ones (free slot, not suspended, not
 * draining) by tier. Heaps are kept current as nodes change, so a pick reads the top of at most four heaps
 * instead of scanning every connected node.
 */
export class PodIndex {
  readonly members = new Set<NodeEntry>();
  /** Members holding the pod warm: once the spec's autoscale.max of them do, no other node loads it. */
  readonly warmMembers = new Set<NodeEntry>();
  readonly warm = newHeap();
  readonly cold: IndexedHeap<NodeEntry>;
  readonly referred = new Map<Address, { warm: IndexedHeap<NodeEntry>; cold: IndexedHeap<NodeEntry> }>();
  readonly waiters = new PodWaiters();
  constructor(
    readonly podId: Hex,
    readonly spec: PodSpec,
  ) {
    this.cold = newColdHeap(podId, spec);
  }

  referralHeaps(frontend: Address) {
    let heaps = this.referred.get(frontend);
    if (heaps === undefined) {
      heaps = { warm: newHeap(), cold: newColdHeap(this.podId, this.spec) };
      this.referred.set(frontend, heaps);
    }
    return heaps;
  }

  /** Whether a job may still load the pod on a cold node: fewer than autoscale.max nodes hold it warm. */
  get mayLoadCold(): boolean {
    return this.warmMembers.size < this.spec.autoscale.max;
  }

  /** Whether some node has a free slot for this pod (for some request; exclusions aside). */
  get hasAvailable(): boolean {
    return this.warm.size > 0 || (this.cold.size > 0 && this.mayLoadCold);
  }
}
