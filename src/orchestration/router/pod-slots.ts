// A node's slots per pod, as its router counts them: the jobs of each pod it runs now, and for a node whose
// pods keep slots of their own (capabilities' `podSlots`), each such pod's share. A job of a pod whose own
// slots are busy would wait on the node even while another pod's slots are free, so the scheduler offers
// such a node to the pod only while the pod has a slot free there.
import type { Hex } from 'viem';
import type { Capabilities } from '../../protocol/messages/node-state.ts';

export class PodSlots {
  readonly #running = new Map<Hex, number>();
  #totals: ReadonlyMap<Hex, number> = new Map();

  /** The pods' own slots as the node announced them (none: every pod takes any of the node's). */
  announce(podSlots: Capabilities['podSlots']): void {
    this.#totals = new Map((podSlots ?? []).map(({ podId, total }) => [podId, total]));
  }

  started(podId: Hex): void {
    this.#running.set(podId, (this.#running.get(podId) ?? 0) + 1);
  }

  ended(podId: Hex): void {
    const running = (this.#running.get(podId) ?? 0) - 1;
    if (running > 0) this.#running.set(podId, running);
    else this.#running.delete(podId);
  }

  clear(): void {
    this.#running.clear();
  }

  /** Jobs of the pod this router runs on the node now. */
  running(podId: Hex): number {
    return this.#running.get(podId) ?? 0;
  }

  /** The pod's own slots free now (its share less its running jobs); undefined: it keeps none. */
  ownFree(podId: Hex): number | undefined {
    const total = this.#totals.get(podId);
    return total === undefined ? undefined : Math.max(0, total - this.running(podId));
  }

  /** The slots free for the pod's next job: the node's free ones, no more than the pod's own free ones. */
  free(podId: Hex, nodeFree: number): number {
    return Math.min(nodeFree, this.ownFree(podId) ?? nodeFree);
  }

  /**
   * Each pod keeping slots of its own, with how many of them are free (the scheduler reads a pod's node
   * as available while both the node and the pod have a slot free).
   */
  ownFreeByPod(): Map<Hex, number> {
    const free = new Map<Hex, number>();
    for (const podId of this.#totals.keys()) free.set(podId, this.ownFree(podId) ?? 0);
    return free;
  }
}
