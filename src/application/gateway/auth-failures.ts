// Requests with API keys nobody issued, counted per client address. Each one costs a store lookup (an
// unknown key is not cached) and is how keys would be guessed, so an address past the limit gets 429
// for the rest of the window, except with keys this gateway already knows without the store.

export interface AuthFailureLimitOptions {
  /** Invalid keys an address may send per window; 0 turns the limit off. Default 30. */
  readonly maxFailures?: number;
  /** Default one minute. */
  readonly windowMs?: number;
  /** Addresses tracked at once; past it, the oldest windows are forgotten first. Default 100,000. */
  readonly maxAddresses?: number;
  readonly now?: () => number;
}

interface Window {
  failures: number;
  endsAt: number;
}

export class AuthFailureLimit {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  // Insertion order is age order: a window is re-inserted when it starts again.
  readonly #windows = new Map<string, Window>();

  constructor(options: AuthFailureLimitOptions = {}) {
    this.maxFailures = options.maxFailures ?? 30;
    this.windowMs = options.windowMs ?? 60_000;
    this.#maxAddresses = options.maxAddresses ?? 100_000;
    this.#now = options.now ?? Date.now;
    if (!Number.isInteger(this.maxFailures) || this.maxFailures < 0)
      throw new RangeError('maxFailures must be a non-negative integer');
    if (!(this.windowMs > 0)) throw new RangeError('windowMs must be positive');
  }

  /** Whole seconds until `address` may try unknown keys again, or undefined when it may now. */
  retryAfterSeconds(address: string): number | undefined {
    if (this.maxFailures === 0) return undefined;
    const window = this.#windows.get(address);
    if (window === undefined || window.failures < this.maxFailures) return undefined;
    const left = window.endsAt - this.#now();
    if (left <= 0) return undefined;
    return Math.ceil(left / 1000);
  }

  /** Counts one invalid key from `address`. */
  record(address: string): void {
    if (this.maxFailures === 0) return;
    const now = this.#now();
    const window = this.#windows.get(address);
    if (window !== undefined && window.endsAt > now) {
      window.failures += 1;
      return;
    }
    this.#windows.delete(address);
    this.#windows.set(address, { failures: 1, endsAt: now + this.windowMs });
    if (this.#windows.size > this.#maxAddresses) this.#forgetOldest(now);
  }

  /** Addresses with a window open. */
  get tracked(): number {
    return this.#windows.size;
  }

  #forgetOldest(now: number): void {
    for (const [address, window] of this.#windows) {
      if (this.#windows.size <= this.#maxAddresses && window.endsAt > now) return;
      this.#windows.delete(address);
    }
  }
}
