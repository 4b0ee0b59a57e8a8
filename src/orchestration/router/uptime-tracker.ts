import type { Address } from 'viem';

export interface UptimeTrackerOptions {
  /**
   * Shortest history an uptime is measured over (default one hour): a node seen for a minute has not
   * proven 100 % uptime, so its first minute counts against the whole window.
   */
  minWindowMs?: number;
  now?: () => number;
}

interface Record {
  firstSeen: number;
  connectedSince: number | undefined;
  connectedMs: number;
}

/** Share of time each node has been connected to this router since it was first seen. */
export class UptimeTracker {
  readonly #records = new Map<Address, Record>();
  readonly #minWindowMs: number;
  readonly #now: () => number;

  constructor(options: UptimeTrackerOptions = {}) {
    this.#minWindowMs = options.minWindowMs ?? 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  connected(node: Address): void {
    const now = this.#now();
    const record = this.#records.get(node);
    if (record === undefined) {
      this.#records.set(node, { firstSeen: now, connectedSince: now, connectedMs: 0 });
    } else if (record.connectedSince === undefined) {
      record.connectedSince = now;
    }
  }

  disconnected(node: Address): void {
    const record = this.#records.get(node);
    if (record?.connectedSince === undefined) return;
    record.connectedMs += this.#now() - record.connectedSince;
    record.connectedSince = undefined;
  }

  /** 0..1; 0 for a node never seen. */
  uptime(node: Address): number {
    const history = this.history(node);
    if (history === undefined) return 0;
    const window = Math.max(history.seenMs, this.#minWindowMs);
    return window <= 0 ? 0 : Math.min(1, history.connectedMs / window);
  }

  /**
   * What the uptime is made of: the time since this router first saw the node, and how much of it the node
   * was connected. Undefined for a node never seen.
   */
  history(node: Address): { seenMs: number; connectedMs: number } | undefined {
    const record = this.#records.get(node);
    if (record === undefined) return undefined;
    const now = this.#now();
    const connectedMs =
      record.connectedMs + (record.connectedSince === undefined ? 0 : now - record.connectedSince);
    return { seenMs: now - record.firstSeen, connectedMs };
  }
}
