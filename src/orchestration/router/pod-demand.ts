// The jobs of each pod this router runs on nodes or holds waiting for a slot: the demand the autoscaler
// sizes the pod's warm nodes by. The dispatcher counts them as attempts start and end and as jobs wait.
// Besides the counts now, each pod keeps their integral over time (job-milliseconds), so a reader that
// looks every few seconds gets the average over its interval rather than a snapshot: short jobs come and
// go between two looks, and a snapshot of them would read 0 one time and a burst the next.
import { performance } from 'node:perf_hooks';
import type { Hex } from 'viem';

export interface PodLoad {
  /** Attempts running on nodes. */
  readonly running: number;
  /** Jobs waiting for a free slot. */
  readonly queued: number;
  /** Running and waiting jobs integrated over time since the pod's first job (ms × jobs). */
  readonly jobMs: number;
  /** When this was read, on the clock `jobMs` is measured with (ms). */
  readonly at: number;
}

interface Counts {
  running: number;
  queued: number;
  jobMs: number;
  since: number;
}

export class PodDemand {
  readonly #pods = new Map<Hex, Counts>();
  readonly #total = { running: 0, queued: 0 };
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  started(podId: Hex): void {
    this.#counts(podId).running++;
    this.#total.running++;
  }

  ended(podId: Hex): void {
    this.#counts(podId).running--;
    this.#total.running--;
  }

  waitStarted(podId: Hex): void {
    this.#counts(podId).queued++;
    this.#total.queued++;
  }

  waitEnded(podId: Hex): void {
    this.#counts(podId).queued--;
    this.#total.queued--;
  }

  /** Every pod's together: `inFlight` attempts and `queued` jobs. */
  get total(): { inFlight: number; queued: number } {
    return { inFlight: this.#total.running, queued: this.#total.queued };
  }

  of(podId: Hex): PodLoad {
    const at = this.#now();
    const counts = this.#pods.get(podId);
    if (counts === undefined) return { running: 0, queued: 0, jobMs: 0, at };
    const { running, queued } = counts;
    return { running, queued, jobMs: counts.jobMs + (running + queued) * (at - counts.since), at };
  }

  /**
   * The pod's counts, brought up to now. Kept once made (a pod that had jobs is one the catalog serves,
   * and its integral must not restart under a reader that took its difference).
   */
  #counts(podId: Hex): Counts {
    const now = this.#now();
    const counts = this.#pods.get(podId);
    if (counts === undefined) {
      const made = { running: 0, queued: 0, jobMs: 0, since: now };
      this.#pods.set(podId, made);
      return made;
    }
    counts.jobMs += (counts.running + counts.queued) * (now - counts.since);
    counts.since = now;
    return counts;
  }
}
