// The API's rate limits, counted by @fastify/rate-limit (fixed one-minute windows in an LRU per router
// process): invalid API keys per client address, on by default, since each costs a store lookup and is
// how keys would be guessed; and, when the operator sets it, requests per API key.
import rateLimit, { type CreateRateLimitOptions, normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

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
): Promise<ApiLimits> {
  const { authFailuresPerMinute, requestsPerMinutePerKey } = settings;
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name} must be a whole number >= 0`);
  }
  if (authFailuresPerMinute === 0 && requestsPerMinutePerKey === 0) return {};
  // Not global: the limiters are called from the key check, and no route counts on its own.
  await app.register(rateLimit, { global: false, cache: TRACKED });
  const limits: { failures?: Limiter; perKey?: Limiter } = {};
  if (authFailuresPerMinute > 0) {
    limits.failures = app.createRateLimit({ ...perMinute(authFailuresPerMinute), keyGenerator: clientKey });
  }
  if (requestsPerMinutePerKey > 0) {
    limits.perKey = app.createRateLimit({
      ...perMinute(requestsPerMinutePerKey),
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
 * One minute for `max`. Each limiter counts in a store of its own, sized by `cache`, which the plugin
 * reads from these options although its types leave it out (hence not an object literal at the call).
 */
function perMinute(max: number): CreateRateLimitOptions {
  const options = { max, timeWindow: MINUTE_MS, cache: TRACKED };
  return options;
}
