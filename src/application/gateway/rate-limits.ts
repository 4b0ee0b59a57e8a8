// The API's rate limits, counted by @fastify/rate-limit: invalid API keys per client address, on by
// default, since each costs a store lookup and is how keys would be guessed; and, when the operator sets
// it, requests per API key. A router alone counts one-minute windows in an LRU of its own; routers sharing
// a PostgreSQL server count together (`RateCounter`: minutes of the clock, synced about once a second).
import rateLimit, { type CreateRateLimitOptions, normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RateCounter } from './ports.ts';

export interface RateLimitSettings {
  /** Invalid keys a client address may send per minute; 0: no limit. */
  readonly authFailuresPerMinute: number;
  /** Requests one API key may make per minute; 0: no limit. */
  readonly requestsPerMinutePerKey: number;
}

export type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

export interface ApiLimits {
  /** Keyed by the client address (IPv6 by its /64, as one host can hold the whole range). */
  readonly failures?: Limiter;
  /** Keyed by the authenticated key's id. */
  readonly perKey?: Limiter;
}

const MINUTE_MS = 60_000;
const IPV6_SUBNET = 64;
/** Addresses or keys counted at once; past it the least recently seen are forgotten. */
const TRACKED = 100_000;

export async function registerRateLimits(
  app: FastifyInstance,
  settings: RateLimitSettings,
  shared?: RateCounter,
): Promise<ApiLimits> {
  const { authFailuresPerMinute, requestsPerMinutePerKey } = settings;
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name} must be a whole number >= 0`);
  }
  if (authFailuresPerMinute === 0 && requestsPerMinutePerKey === 0) return {};
  // Not global: the limiters are called from the key check, and no route counts on its own.
  await app.register(rateLimit, {
    global: false,
    cache: TRACKED,
    ...(shared === undefined ? {} : { store: sharedStore(shared) }),
  });
  const limits: { failures?: Limiter; perKey?: Limiter } = {};
  if (authFailuresPerMinute > 0) {
    limits.failures = app.createRateLimit({
      ...perMinute(authFailuresPerMinute, 'invalid-keys'),
      keyGenerator: clientKey,
    });
  }
  if (requestsPerMinutePerKey > 0) {
    limits.perKey = app.createRateLimit({
      ...perMinute(requestsPerMinutePerKey, 'requests-per-key'),
      keyGenerator: (request) => request.principal?.id ?? clientKey(request),
    });
  }
  return limits;
}

/** The client's address, an IPv6 one by its /64; a socket already gone has none, so it gets a key of its own. */
function clientKey(request: FastifyRequest): string {
  const address = request.ip as string | undefined;
  return address === undefined ? 'unknown' : normalizeIP(address, IPV6_SUBNET);
}

/**
 * One minute for `max`. Each limiter counts in a store of its own, sized by `cache` and named by `limiter`
 * (the shared counts' name for it), which the plugin hands its store although its types leave them out
 * (hence not an object literal at the call).
 */
function perMinute(max: number, limiter: string): CreateRateLimitOptions {
  const options = { max, timeWindow: MINUTE_MS, cache: TRACKED, limiter };
  return options;
}

type StoreAnswer = (error: Error | null, result: { current: number; ttl: number }) => void;

/** The plugin's store interface over counts shared by the routers (a class: the plugin makes its own). */
function sharedStore(counter: RateCounter) {
  return class SharedRateStore {
    readonly #limiter: string;

    // The plugin's merged options, with the limiter's name among them (see perMinute).
    constructor(params: object) {
      const { limiter } = params as { limiter?: unknown };
      this.#limiter = typeof limiter === 'string' ? limiter : 'default';
    }

    incr(key: string, answer: StoreAnswer): void {
      answer(null, ttlOf(counter.hit(this.#limiter, key)));
    }

    read(key: string, answer: StoreAnswer): void {
      answer(null, ttlOf(counter.peek(this.#limiter, key)));
    }

    child(params: object): SharedRateStore {
      return new SharedRateStore(params);
    }
  };
}

function ttlOf(count: { current: number; resetAt: number }): { current: number; ttl: number } {
  return { current: count.current, ttl: Math.max(0, count.resetAt - Date.now()) };
}
