// Browser access: the preflight a page sends before calling the API with a key (answered without the key),
// the headers that let the page read answers and errors (a stream too), and an operator's narrower policy.
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { answerText, type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';
import { corsHeadersOf, parseCorsOrigin, registerCors } from './cors.ts';

const PAGE = 'https://app.example';
let h: GatewayHarness;
let key: string;

beforeAll(async () => {
  h = await startGatewayHarness();
  key = await h.key(devAccount(5).address);
  await h.peer(0, (peer, assign) => answerText(peer, assign, ['Hel', 'lo']));
});

afterAll(async () => {
  await h?.close();
});

/** What the official openai client's preflight asks for in a browser. */
const preflight = (url: string, origin = PAGE) =>
  h.gateway.app.inject({
    method: 'OPTIONS',
    url,
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,x-stainless-os,x-neurino-timeout-ms',
    },
  });

/** A chat request from the page, with its key, as the openai client sends it. */
const pageChat = (body: Record<string, unknown>) =>
  h.gateway.app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { origin: PAGE, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    payload: { messages: [{ role: 'user', content: 'hi' }], ...body },
  });

describe('cross-origin access (default: any origin)', () => {
  it('answers a preflight without a key, allowing the headers asked for', async () => {
    const response = await preflight('/v1/chat/completions');
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['access-control-allow-methods']).toBe('GET, POST');
    expect(response.headers['access-control-allow-headers']).toBe(
      'authorization,content-type,x-stainless-os,x-neurino-timeout-ms',
    );
    expect(response.headers['access-control-max-age']).toBe('600');
    // No key needed, and none asked for: credentials never ride on cookies here.
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('lets the page read an answer, the headers it may need, and a stream', async () => {
    const whole = await pageChat({ model: 'test-llm' });
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['access-control-allow-origin']).toBe('*');
    expect(String(whole.headers['access-control-expose-headers'])).toContain('x-neurino-job-id');
    expect(whole.json().id).toMatch(/^chatcmpl-/);

    const stream = await pageChat({ model: 'test-llm', stream: true });
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['access-control-allow-origin']).toBe('*');
    expect(stream.body.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('lets the page read errors: a missing key, an unknown model, an unknown route, a URL with %00', async () => {
    const noKey = await h.gateway.app.inject({ method: 'GET', url: '/v1/models', headers: { origin: PAGE } });
    expect(noKey.statusCode).toBe(401);
    expect(noKey.headers['access-control-allow-origin']).toBe('*');
    const unknown = await pageChat({ model: 'no-such-model' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['access-control-allow-origin']).toBe('*');
    const route = await h.gateway.app.inject({
      method: 'GET',
      url: '/v1/nothing',
      headers: { origin: PAGE },
    });
    expect(route.statusCode).toBe(404);
    expect(route.headers['access-control-allow-origin']).toBe('*');
    const nul = await h.gateway.app.inject({ method: 'GET', url: '/v1/jobs/%00', headers: { origin: PAGE } });
    expect(nul.statusCode).toBe(400);
    expect(nul.headers['access-control-allow-origin']).toBe('*');
  });

  it("lets the page read a URL Fastify's router cannot read, answered before any hook", async () => {
    const whole = await pageChat({ model: 'test-llm' });
    for (const url of ['/v1/jobs/%E0%A4%A', `/v1/jobs/${'j'.repeat(101)}`]) {
      const answer = await h.gateway.app.inject({ method: 'GET', url, headers: { origin: PAGE } });
      expect(answer.statusCode, url).toBe(400);
      expect(answer.json().error.code, url).toBe('invalid_request');
      // The plugin's headers, as on any other answer.
      for (const name of ['access-control-allow-origin', 'access-control-expose-headers']) {
        expect(answer.headers[name], `${url} ${name}`).toBe(whole.headers[name]);
      }
    }
  });
});

describe('routes without a key', () => {
  it("keeps health and metrics from other origins' pages", async () => {
    for (const url of ['/health', '/metrics']) {
      const response = await h.gateway.app.inject({ method: 'GET', url, headers: { origin: PAGE } });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['access-control-allow-origin'], url).toBeUndefined();
    }
  });
});

describe('an operator narrowing or turning off cross-origin access', () => {
  async function appWith(origins: '*' | string[]) {
    const app = Fastify();
    await registerCors(app, origins);
    app.get('/v1/models', async () => ({ object: 'list', data: [] }));
    return app;
  }

  it('allows only the named origins', async () => {
    const app = await appWith([PAGE, 'http://localhost:5173']);
    const allowed = await app.inject({ method: 'GET', url: '/v1/models', headers: { origin: PAGE } });
    expect(allowed.headers['access-control-allow-origin']).toBe(PAGE);
    expect(String(allowed.headers.vary)).toMatch(/origin/i);
    const other = await app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { origin: 'https://elsewhere.example' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it("writes the plugin's headers for answers it never sees, for the named origins only", async () => {
    const origins = [PAGE, 'http://localhost:5173'];
    const app = await appWith(origins);
    const allowed = await app.inject({ method: 'GET', url: '/v1/models', headers: { origin: PAGE } });
    const headers = corsHeadersOf(origins, PAGE);
    expect(headers['access-control-allow-origin']).toBe(allowed.headers['access-control-allow-origin']);
    expect(headers['access-control-expose-headers']).toBe(allowed.headers['access-control-expose-headers']);
    expect(headers.vary).toMatch(/origin/i);
    expect(
      corsHeadersOf(origins, 'https://elsewhere.example')['access-control-allow-origin'],
    ).toBeUndefined();
    expect(corsHeadersOf(origins, undefined)['access-control-allow-origin']).toBeUndefined();
    expect(corsHeadersOf([], PAGE)).toEqual({});
  });

  it('adds nothing and answers no preflight when turned off', async () => {
    const app = await appWith([]);
    const answer = await app.inject({ method: 'GET', url: '/v1/models', headers: { origin: PAGE } });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    const check = await app.inject({
      method: 'OPTIONS',
      url: '/v1/models',
      headers: { origin: PAGE, 'access-control-request-method': 'GET' },
    });
    expect(check.statusCode).toBe(404);
  });

  it('takes origins as browsers send them, and refuses anything else with the reason', () => {
    expect(parseCorsOrigin('https://App.Example/')).toBe('https://app.example');
    expect(parseCorsOrigin('https://app.example:443')).toBe('https://app.example');
    expect(parseCorsOrigin('http://localhost:5173')).toBe('http://localhost:5173');
    expect(parseCorsOrigin('*')).toBe('*');
    expect(() => parseCorsOrigin('app.example')).toThrow(
      /not a URL \(expected e\.g\. https:\/\/app\.example\)/,
    );
    expect(() => parseCorsOrigin('https://app.example/chat')).toThrow(
      /must be scheme:\/\/host\[:port\] only, e\.g\. https:\/\/app\.example$/,
    );
    expect(() => parseCorsOrigin('file:///tmp/page.html')).toThrow(/scheme:\/\/host/);
  });
});
