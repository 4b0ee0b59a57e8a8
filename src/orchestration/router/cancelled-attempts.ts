// Attempts this router stopped with an unpaid cancel whose end the node has not reported yet. The node
// is still stopping them (a llama.cpp job ends at its next token, a long prompt at the end of its batch),
// so their slots stay taken: a job sent there meanwhile would be refused for want of a slot and cost its
// caller a retry. The node's `job.error` (or a result that crossed the cancel) frees the slot; a node that
// never reports it has its slot back after `graceMs`.
import type { Hex } from 'viem';

export class CancelledAttempts {
  readonly #pending = new Map<Hex, { podId: Hex; timer: NodeJS.Timeout }>();

  constructor(
    private readonly graceMs: number,
    /** Called with the pod of an attempt whose end never came within the grace. */
    private readonly onExpired: (attemptId: Hex, podId: Hex) => void,
  ) {}

  get size(): number {
    return this.#pending.size;
  }

  add(attemptId: Hex, podId: Hex): void {
    const timer = setTimeout(() => {
      if (this.#pending.delete(attemptId)) this.onExpired(attemptId, podId);
    }, this.graceMs);
    timer.unref();
    this.#pending.set(attemptId, { podId, timer });
  }

  /** The node reported the attempt's end: its pod, or undefined when it was not awaited. */
  ended(attemptId: Hex): Hex | undefined {
    const pending = this.#pending.get(attemptId);
    if (pending === undefined) return undefined;
    clearTimeout(pending.timer);
    this.#pending.delete(attemptId);
    return pending.podId;
  }

  clear(): void {
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }
}
