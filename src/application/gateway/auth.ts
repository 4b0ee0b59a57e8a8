// Bearer API keys (OpenAI's `Authorization: Bearer <key>`). Keys are looked up by hash in the store and
// never logged; a request gets the key's id and the credit account that pays for it.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import type { ApiKeyAuthenticator, Principal } from './ports.ts';
import type { ApiLimits, Limiter } from './rate-limits.ts';

/** Longer values are not keys; refusing them early keeps hashing cheap. */
const MAX_KEY_LENGTH = 256;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * The secret from `Authorization: Bearer …` (scheme case-insensitive), or undefined when absent; a header
 * of another shape throws `malformed` (by default 401 `invalid_api_key`).
 */
export function bearerToken(
  header: string | undefined,
  malformed: () => Error = () =>
    new FatalError('invalid_api_key', { message: 'Authorization header must be "Bearer <API key>"' }),
): string | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (match?.[1] === undefined) throw malformed();
  return match[1];
}

/**
 * An onRequest hook that sets `request.principal` or refuses with 401. A key the gateway holds in its
 * cache passes at once; any other is looked up in the store, unless its client address already sent
 * too many invalid keys this minute (429 `rate_limited`, with Retry-After). With a per-key limit, a key
 * past it gets 429 too, and every answer says where the key stands (OpenAI's `x-ratelimit-*` headers).
 */
export function apiKeyAuth(keys: ApiKeyAuthenticator, limits: ApiLimits = {}) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const key = bearerToken(request.headers.authorization);
    if (key === undefined) {
      throw new FatalError('missing_api_key', {
        message: 'No API key provided: send it as "Authorization: Bearer <API key>"',
      });
    }
    request.principal = keys.known?.(key) ?? (await lookUp(keys, key, request, limits.failures));
    if (limits.perKey !== undefined) await countRequest(limits.perKey, request, reply);
  };
}

async function lookUp(
  keys: ApiKeyAuthenticator,
  key: string,
  request: FastifyRequest,
  failures: Limiter | undefined,
): Promise<Principal> {
  if (failures !== undefined) {
    const seen = await failures(request, { increment: false });
    if (!seen.isAllowed && seen.remaining === 0) {
      throw new RetryableError('rate_limited', {
        message: `Too many requests with invalid API keys from ${request.ip}: retry in ${seen.ttlInSeconds} s`,
        retryAfterSeconds: seen.ttlInSeconds,
      });
    }
  }
  const principal = key.length > MAX_KEY_LENGTH ? undefined : await keys.authenticate(key);
  if (principal === undefined) {
    await failures?.(request);
    throw new FatalError('invalid_api_key');
  }
  return principal;
}

async function countRequest(perKey: Limiter, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const count = await perKey(request);
  if (count.isAllowed) return;
  reply.header('x-ratelimit-limit-requests', count.max);
  reply.header('x-ratelimit-remaining-requests', count.remaining);
  reply.header('x-ratelimit-reset-requests', `${count.ttlInSeconds}s`);
  if (count.isExceeded) {
    throw new RetryableError('rate_limited', {
      message: `Rate limit reached for this API key: ${count.max} requests per minute; retry in ${count.ttlInSeconds} s`,
      retryAfterSeconds: count.ttlInSeconds,
    });
  }
}

/** The authenticated caller of a route behind `apiKeyAuth`. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new FatalError('missing_api_key');
  return request.principal;
}
