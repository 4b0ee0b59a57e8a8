// Cross-origin access for browser apps, as OpenAI's API allows it (its SDK runs in a browser with
// `dangerouslyAllowBrowser`). Any origin by default: callers authenticate with a bearer key, never a
// cookie, so a page can spend only the credits of a key it already holds. An operator may name the
// origins allowed, or turn it off. Routes that need no key (health, metrics) are left out: a page open in
// an operator's browser must not read a router it can reach but was never given a key for.
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { FatalError } from '../../protocol/errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: this route's answers carry no CORS headers (browsers keep them from other origins' pages). */
    cors?: false;
  }
}

/** Route config of the routes only operators read: no cross-origin access. */
export const SAME_ORIGIN_ONLY = { cors: false } as const;

/** `'*'`: any origin; a list: only those (`https://app.example`); empty: no cross-origin access. */
export type CorsOrigins = '*' | readonly string[];

/** Headers a browser script may read from an answer: the job's id (for its receipt), the request id. */
const EXPOSED_HEADERS = [
  'x-neurino-job-id',
  'x-request-id',
  'retry-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
];
/** How long a browser may reuse a preflight's answer. */
const PREFLIGHT_MAX_AGE_S = 600;

export async function registerCors(app: FastifyInstance, origins: CorsOrigins): Promise<void> {
  if (origins !== '*' && origins.length === 0) return;
  await app.register(cors, {
    origin: origins === '*' ? '*' : [...origins],
    methods: ['GET', 'POST'],
    // Left unset, the headers a preflight asks for are allowed (the OpenAI SDK sends its own x-stainless-*).
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_S,
  });
}

/**
 * The CORS headers of an answer to a page from `origin`, as the plugin writes them: for answers given
 * before any hook runs (a URL Fastify's router cannot read), which the plugin never sees.
 */
export function corsHeadersOf(origins: CorsOrigins, origin: string | undefined): Record<string, string> {
  const exposed = { 'access-control-expose-headers': EXPOSED_HEADERS.join(', ') };
  if (origins === '*') return { 'access-control-allow-origin': '*', ...exposed };
  if (origins.length === 0) return {};
  if (origin === undefined || !origins.includes(origin)) return { vary: 'Origin' };
  return { 'access-control-allow-origin': origin, vary: 'Origin', ...exposed };
}

/** Checks `value` is an origin (`scheme://host[:port]`, nothing after) or `*`; returns it normalised. */
export function parseCorsOrigin(value: string): string {
  if (value === '*') return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FatalError('invalid_request', {
      message: `CORS origin ${JSON.stringify(value)} is not a URL (expected e.g. https://app.example)`,
    });
  }
  const { origin } = url;
  const extra = url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '';
  if (origin === 'null' || extra) {
    const example = origin === 'null' ? 'https://app.example' : origin;
    throw new FatalError('invalid_request', {
      message: `CORS origin ${JSON.stringify(value)} must be scheme://host[:port] only, e.g. ${example}`,
    });
  }
  // As browsers send it: lower-case host, no default port, no trailing slash.
  return origin;
}
