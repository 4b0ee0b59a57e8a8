// The API's rate limits through the gateway. Invalid keys per client address: 429 with Retry-After past
// the limit, no store lookup for the refused keys, keys the gateway knows still served, other addresses
// untouched, the client read from X-Forwarded-For only behind a trusted proxy. Requests per key, when set.
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { SharedRateCounts } from '../../orchestration/limits/shared-rate-counts.ts';
import { openStore } from '../../orchestration/store/open-store.ts';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';
import { registerRateLimits } from './rate-limits.ts';

const developer = devAccount(5).address;
let direct: GatewayHarness;
let proxied: GatewayHarness;
let perKey: GatewayHarness;

beforeAll(async () => {
  direct = await startGatewayHarness({ gateway: { authFailuresPerMinute: 3 } });
  proxied = await startGatewayHarness({ gateway: { authFailuresPerMinute: 3, trustProxy: ['127.0.0.1'] } });
  perKey = await startGatewayHarness({ gateway: { requestsPerMinutePerKey: 2 } });
});

afterAll(async () => {
  await direct?.close();
  await proxied?.close();
  await perKey?.close();
});

function models(h: GatewayHarness, key: string, from: string, forwardedFor?: string) {
  return h.gateway.app.inject({
    method: 'GET',
    url: '/v1/models',
    remoteAddress: from,
    headers: { authorization: `Bearer ${key}`, ...(forwardedFor && { 'x-forwarded-for': forwardedFor }) },
  });
}

const wrongKey = (i: number) => `nrn_${'x'.repeat(39)}${i}`;

describe('invalid API keys from one address', () => {
  it('get 429 with Retry-After past the limit, without a store lookup; known keys still pass', async () => {
    const known = await direct.key(developer);
    expect((await models(direct, known, '10.0.0.1')).statusCode).toBe(200);
    const unused = await direct.key(developer);
    for (let i = 0; i < 3; i++) expect((await models(direct, wrongKey(i), '10.0.0.1')).statusCode).toBe(401);

    const lookups = vi.spyOn(direct.apiKeys, 'authenticate');
    const refused = await models(direct, wrongKey(3), '10.0.0.1');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({
      error: {
        code: 'rate_limited',
        type: 'rate_limit_error',
        message: expect.stringMatching(
          /^Too many requests with invalid API keys from 10\.0\.0\.1: retry in \d+ s$/,
        ),
      },
    });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // A key it has not looked up yet waits too: finding out would take the store.
    expect((await models(direct, unused, '10.0.0.1')).statusCode).toBe(429);
    expect(lookups).not.toHaveBeenCalled();
    // The key it knows is served; other addresses are not held back.
    expect((await models(direct, known, '10.0.0.1')).statusCode).toBe(200);
    expect((await models(direct, wrongKey(4), '10.0.0.2')).statusCode).toBe(401);
    expect((await models(direct, unused, '10.0.0.2')).statusCode).toBe(200);
    expect(lookups).toHaveBeenCalledTimes(2);
    lookups.mockRestore();
  });

  it('do not count a missing key, and ignore X-Forwarded-For without a trusted proxy', async () => {
    for (let i = 0; i < 5; i++) {
      const response = await direct.gateway.app.inject({
        method: 'GET',
        url: '/v1/models',
        remoteAddress: '10.0.0.3',
      });
      expect(response.json()).toMatchObject({ error: { code: 'missing_api_key' } });
    }
    expect((await models(direct, wrongKey(0), '10.0.0.3')).statusCode).toBe(401);
    // Each request claims another client; the address counted is the peer's.
    for (let i = 1; i < 3; i++) await models(direct, wrongKey(i), '10.0.0.3', `192.0.2.${i}`);
    expect((await models(direct, wrongKey(3), '10.0.0.3', '192.0.2.9')).json()).toMatchObject({
      error: { code: 'rate_limited', message: expect.stringContaining('from 10.0.0.3') },
    });
  });

  it('count an IPv6 client by its /64, which one host can hold whole', async () => {
    for (let i = 0; i < 3; i++) await models(direct, wrongKey(i), `2001:db8:0:1::${i + 1}`);
    expect((await models(direct, wrongKey(3), '2001:db8:0:1::ffff')).statusCode).toBe(429);
    expect((await models(direct, wrongKey(4), '2001:db8:0:2::1')).statusCode).toBe(401);
  });

  it('are counted per client named by a trusted proxy', async () => {
    for (let i = 0; i < 3; i++) await models(proxied, wrongKey(i), '127.0.0.1', '198.51.100.7');
    expect((await models(proxied, wrongKey(3), '127.0.0.1', '198.51.100.7')).json()).toMatchObject({
      error: { code: 'rate_limited', message: expect.stringContaining('from 198.51.100.7') },
    });
    expect((await models(proxied, wrongKey(4), '127.0.0.1', '198.51.100.8')).statusCode).toBe(401);
  });
});

describe('requests per API key', () => {
  it('are counted per key, in headers as OpenAI sends them, and refused with 429 past the limit', async () => {
    const [busy, other] = [await perKey.key(developer), await perKey.key(developer)];
    const first = await models(perKey, busy, '10.0.1.1');
    expect(first.statusCode).toBe(200);
    expect(first.headers).toMatchObject({
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '1',
      'x-ratelimit-reset-requests': expect.stringMatching(/^\d+s$/),
    });
    // From another address it is still the same key.
    expect((await models(perKey, busy, '10.0.1.2')).headers['x-ratelimit-remaining-requests']).toBe('0');
    const refused = await models(perKey, busy, '10.0.1.1');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({
      error: {
        code: 'rate_limited',
        message: expect.stringMatching(
          /^Rate limit reached for this API key: 2 requests per minute; retry in \d+ s$/,
        ),
      },
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await models(perKey, other, '10.0.1.1')).statusCode).toBe(200);
    // Without the limit set, answers carry no such headers.
    const known = await direct.key(developer);
    expect((await models(direct, known, '10.0.1.1')).headers['x-ratelimit-limit-requests']).toBeUndefined();
  });

  it('count across routers that share their counts, once they have synced', async () => {
    const store = await openStore();
    const routers = await Promise.all(
      [0, 1].map(async () => {
        const counts = new SharedRateCounts(store);
        const app = Fastify();
        const limits = await registerRateLimits(
          app,
          { authFailuresPerMinute: 0, requestsPerMinutePerKey: 3 },
          counts,
        );
        app.get('/x', async (request) => {
          const limit = await limits.perKey?.(request);
          if (limit === undefined || limit.isAllowed) throw new Error('no limit was applied');
          return { exceeded: limit.isExceeded, remaining: limit.remaining, ttl: limit.ttl };
        });
        return { app, counts };
      }),
    );
    const call = async (i: number) =>
      (await routers[i]?.app.inject({ url: '/x', remoteAddress: '10.9.0.1' }))?.json() as {
        exceeded: boolean;
        remaining: number;
        ttl: number;
      };
    try {
      expect(await call(0)).toMatchObject({ exceeded: false, remaining: 2 });
      expect(await call(0)).toMatchObject({ exceeded: false, remaining: 1 });
      expect((await call(1)).remaining).toBe(2);
      await Promise.all(routers.map((r) => r.counts.sync()));
      // Three requests so far, across both: the next one on either is past the limit.
      const past = await call(1);
      expect(past).toMatchObject({ exceeded: true, remaining: 0 });
      // Windows are minutes of the clock: the wait is what is left of this one.
      expect(past.ttl).toBeGreaterThan(0);
      expect(past.ttl).toBeLessThanOrEqual(60_000);
    } finally {
      for (const r of routers) await r.app.close();
      await store.close();
    }
  });

  it('refuses a limit that is not a whole number', async () => {
    const app = Fastify();
    await expect(
      registerRateLimits(app, { authFailuresPerMinute: -1, requestsPerMinutePerKey: 0 }),
    ).rejects.toThrow('authFailuresPerMinute must be a whole number >= 0');
    await expect(
      registerRateLimits(app, { authFailuresPerMinute: 0, requestsPerMinutePerKey: 1.5 }),
    ).rejects.toThrow('requestsPerMinutePerKey must be a whole number >= 0');
    await app.close();
  });
});
