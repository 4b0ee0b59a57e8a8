// The jobs of each pod this router runs on nodes or holds waiting for a slot: the demand the autoscaler
// sizes the pod's warm nodes by. The dispatcher counts them as attempts start and end and as jobs wait.
import type { Hex } from 'viem';

export interface PodLoad {
  /** Attempts running on nodes. */
  readonly running: number;
  /** Jobs waiting for a free slot. */
  readonly queued: number;
}

interface Counts {
  running: number;
  queued: number;
}

const NONE: PodLoad = Object.freeze({ running: 0, queued: 0 });

export class PodDemand {
  readonly #pods = new Map<Hex, Counts>();
  readonly #total: Counts = { running: 0, queued: 0 };

  started(podId: Hex): void {
    this.#counts(podId).running++;
    this.#total.running++;
  }

  ended(podId: Hex): void {
    this.#settle(podId, (counts) => counts.running--);
    this.#total.running--;
  }

  waitStarted(podId: Hex): void {
    this.#counts(podId).queued++;
    this.#total.queued++;
  }

  waitEnded(podId: Hex): void {
    this.#settle(podId, (counts) => counts.queued--);
    this.#total.queued--;
  }

  /** Every pod's together: `inFlight` attempts and `queued` jobs. */
  get total(): { inFlight: number; queued: number } {
    return { inFlight: this.#total.running, queued: this.#total.queued };
  }

  of(podId: Hex): PodLoad {
    const counts = this.#pods.get(podId);
    return counts === undefined ? NONE : { running: counts.running, queued: counts.queued };
  }

  #counts(podId: Hex): Counts {
    let counts = this.#pods.get(podId);
    if (counts === undefined) {
      counts = { running: 0, queued: 0 };
      this.#pods.set(podId, counts);
    }
    return counts;
  }

  /** A pod with nothing left is forgotten, so pods gone from the catalog leave nothing behind. */
  #settle(podId: Hex, change: (counts: Counts) => void): void {
    const counts = this.#pods.get(podId);
    if (counts === undefined) return;
    change(counts);
    if (counts.running <= 0 && counts.queued <= 0) this.#pods.delete(podId);
  }
}
