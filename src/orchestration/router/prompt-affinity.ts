// Which node last served a conversation, so its next turn can go where the conversation's context may
// still be in a slot's prompt cache (a llama-cpp pod keeps what begins the next prompt). Bounded: the
// least recently used keys are forgotten first. Per router: routers sharing a store each learn their own.
import type { Address, Hex } from 'viem';

/** Keys remembered at most (a few MB): a conversation idle past this many others starts afresh. */
export const DEFAULT_AFFINITY_KEYS = 50_000;

export class PromptAffinity {
  readonly #nodes = new Map<string, Address>();
  readonly #limit: number;

  constructor(limit = DEFAULT_AFFINITY_KEYS) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    this.#limit = limit;
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** The node that served this pod's last job of the key, if remembered. */
  nodeFor(podId: Hex, key: string): Address | undefined {
    return this.#nodes.get(`${podId}:${key}`);
  }

  /** Remembers the node that served the key's job, as the most recent. */
  served(podId: Hex, key: string, node: Address): void {
    const id = `${podId}:${key}`;
    this.#nodes.delete(id);
    this.#nodes.set(id, node);
    if (this.#nodes.size > this.#limit) {
      const oldest = this.#nodes.keys().next().value;
      if (oldest !== undefined) this.#nodes.delete(oldest);
    }
  }
}
