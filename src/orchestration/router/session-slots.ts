// A miner session's slots as its router counts them: the node's announced total, the attempts this
// router runs there (and those it cancelled, until the node reports their end), per pod, and what the node
// says it runs that this router did not assign.
import type { Hex } from 'viem';
import type { Capabilities } from '../../protocol/messages/node-state.ts';
import { CancelledAttempts } from './cancelled-attempts.ts';
import { PodSlots } from './pod-slots.ts';
import type { AttemptListener } from './session-events.ts';

export interface RunningAttempt {
  readonly listener: AttemptListener;
  readonly podId: Hex;
}

export class SessionSlots {
  #total = 0;
  /** Slots the node reported busy with work this router did not assign. */
  #busyElsewhere = 0;
  /** Attempts running here, with the pod each runs. */
  readonly #attempts = new Map<Hex, RunningAttempt>();
  readonly #cancelled: CancelledAttempts;
  /** Jobs per pod, and each pod's own slots when the node keeps some. */
  readonly #pods = new PodSlots();

  /**
   * `onCancelExpired`: a cancelled attempt's end never came within `cancelGraceMs`; its slot is free now.
   */
  constructor(cancelGraceMs: number, onCancelExpired: (attemptId: Hex, podId: Hex) => void) {
    this.#cancelled = new CancelledAttempts(cancelGraceMs, (attemptId, podId) => {
      this.#pods.ended(podId);
      onCancelExpired(attemptId, podId);
    });
  }

  /** The node's announcement: its slots in all, those free, and its pods' own. */
  announce(capabilities: Capabilities): void {
    this.#total = capabilities.slots.total;
    this.#pods.announce(capabilities.podSlots);
    this.recount(capabilities.slots.free);
  }

  /**
   * The node's own count of its free slots, which each heartbeat carries, corrects what it runs that this
   * router did not assign: jobs it took before this session, or attempts whose cancel this router stopped
   * waiting on. A heartbeat sent before an assignment reached the node counts fewer, never more. Returns
   * whether the free slots changed.
   */
  recount(slotsFree: number): boolean {
    const busyElsewhere = Math.max(0, this.#total - slotsFree - this.#taken());
    if (busyElsewhere === this.#busyElsewhere) return false;
    this.#busyElsewhere = busyElsewhere;
    return true;
  }

  /** Slots this router may still fill (0 until the node's announcement). */
  get free(): number {
    return Math.max(0, this.#total - this.#busyElsewhere - this.#taken());
  }

  /** Attempts running (not those cancelled). */
  get running(): number {
    return this.#attempts.size;
  }

  /** The slots free for the pod's next job: no more than the pod's own free ones when it keeps some. */
  freeFor(podId: Hex): number {
    return this.#pods.free(podId, this.free);
  }

  /** The pod's own slots free; undefined when it keeps none (its jobs take any free slot). */
  ownFree(podId: Hex): number | undefined {
    return this.#pods.ownFree(podId);
  }

  ownFreeByPod(): Map<Hex, number> {
    return this.#pods.ownFreeByPod();
  }

  /** Jobs of the pod holding a slot here. */
  runningOf(podId: Hex): number {
    return this.#pods.running(podId);
  }

  has(attemptId: Hex): boolean {
    return this.#attempts.has(attemptId);
  }

  listener(attemptId: Hex): AttemptListener | undefined {
    return this.#attempts.get(attemptId)?.listener;
  }

  start(attemptId: Hex, attempt: RunningAttempt): void {
    this.#attempts.set(attemptId, attempt);
    this.#pods.started(attempt.podId);
  }

  /**
   * Forgets the attempt and frees its slot; returns it (undefined: no such attempt). `slotsFree`, the
   * node's count a refusal carries, is counted once the attempt is off the count.
   */
  end(attemptId: Hex, slotsFree?: number): RunningAttempt | undefined {
    const attempt = this.#forget(attemptId);
    if (attempt === undefined) return undefined;
    this.#pods.ended(attempt.podId);
    if (slotsFree !== undefined) this.recount(slotsFree);
    return attempt;
  }

  /** Forgets the attempt but keeps its slot taken until `cancelledEnded` (or the grace runs out). */
  cancel(attemptId: Hex): RunningAttempt | undefined {
    const attempt = this.#forget(attemptId);
    if (attempt !== undefined) this.#cancelled.add(attemptId, attempt.podId);
    return attempt;
  }

  /**
   * The node reported a cancelled attempt's end: frees its slot and returns its pod (undefined: none);
   * `slotsFree` as in `end`.
   */
  cancelledEnded(attemptId: Hex, slotsFree?: number): Hex | undefined {
    const podId = this.#cancelled.ended(attemptId);
    if (podId === undefined) return undefined;
    this.#pods.ended(podId);
    if (slotsFree !== undefined) this.recount(slotsFree);
    return podId;
  }

  /** Forgets every attempt (the session is over) and returns the running ones' listeners. */
  clear(): AttemptListener[] {
    const listeners = [...this.#attempts.values()].map((attempt) => attempt.listener);
    this.#attempts.clear();
    this.#cancelled.clear();
    this.#pods.clear();
    return listeners;
  }

  #forget(attemptId: Hex): RunningAttempt | undefined {
    const attempt = this.#attempts.get(attemptId);
    this.#attempts.delete(attemptId);
    return attempt;
  }

  #taken(): number {
    return this.#attempts.size + this.#cancelled.size;
  }
}
