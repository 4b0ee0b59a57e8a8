// Bearer API keys (OpenAI's `Authorization: Bearer <key>`). Keys are looked up by hash in the store and
// never logged; a request gets the key's id and the credit account that pays for it.
import type { FastifyRequest } from 'fastify';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import type { AuthFailureLimit } from './auth-failures.ts';
import type { ApiKeyAuthenticator, Principal } from './ports.ts';

/** Longer values are not keys; refusing them early keeps hashing cheap. */
const MAX_KEY_LENGTH = 256;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The key from `Authorization: Bearer …` (scheme case-insensitive), or undefined when absent. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (match?.[1] === undefined) {
    throw new FatalError('invalid_api_key', { message: 'Authorization header must be "Bearer <API key>"' });
  }
  return match[1];
}

/**
 * An onRequest hook that sets `request.principal` or refuses with 401. With `failures`, an address that
 * sent too many invalid keys gets 429 `rate_limited` (with Retry-After) instead of a store lookup, unless
 * its key is one this gateway knows without the store.
 */
export function apiKeyAuth(keys: ApiKeyAuthenticator, failures?: AuthFailureLimit) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const key = bearerToken(request.headers.authorization);
    if (key === undefined) {
      throw new FatalError('missing_api_key', {
        message: 'No API key provided: send it as "Authorization: Bearer <API key>"',
      });
    }
    const wait = failures?.retryAfterSeconds(request.ip);
    if (wait !== undefined) {
      const known = keys.known?.(key);
      if (known === undefined) throw tooManyInvalidKeys(request.ip, wait);
      request.principal = known;
      return;
    }
    const principal = key.length > MAX_KEY_LENGTH ? undefined : await keys.authenticate(key);
    if (principal === undefined) {
      failures?.record(request.ip);
      throw new FatalError('invalid_api_key');
    }
    request.principal = principal;
  };
}

function tooManyInvalidKeys(address: string, seconds: number): RetryableError {
  return new RetryableError('rate_limited', {
    message: `Too many requests with invalid API keys from ${address}: retry in ${seconds} s`,
    retryAfterSeconds: seconds,
  });
}

/** The authenticated caller of a route behind `apiKeyAuth`. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new FatalError('missing_api_key');
  return request.principal;
}
