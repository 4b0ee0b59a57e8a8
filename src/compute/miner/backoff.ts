// Reconnect delays: exponential, capped, with jitter so miners cut off together do not return together.

export interface BackoffOptions {
  /** Delay before the first retry. Default 500 ms. */
  readonly initialMs?: number;
  /** Longest delay. Default 30 s. */
  readonly maxMs?: number;
  readonly factor?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000, factor: 2 } as const;

/**
 * Tries of a pod's own server (not ready at start, gone later): 1 s doubling to 10 s, taken with
 * `NO_JITTER`, as one node waits for its own server and has nobody to spread out from.
 */
export const SERVER_RETRY = { initialMs: 1_000, maxMs: 10_000 } as const;
export const NO_JITTER = () => 1;

/**
 * Delay before retry number `attempt` (0-based): half the exponential step fixed, half random ("equal
 * jitter"), so a miner never hammers the router yet still spreads out.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
) {
  const { initialMs, maxMs, factor } = { ...DEFAULT_BACKOFF, ...options };
  if (!(initialMs > 0 && maxMs >= initialMs && factor >= 1)) {
    throw new RangeError('backoff needs initialMs > 0, maxMs >= initialMs and factor >= 1');
  }
  const step = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Resolves after `ms`, or at once when `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
