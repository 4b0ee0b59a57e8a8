// A web page of another origin calling the gateway from a real browser (Debian's chromium through
// playwright-core), as a browser app with its user's key does: the preflight, a whole and a streamed
// answer, a readable error, and what the browser keeps from the page (the key-less operator routes, a
// gateway that names other origins). Skipped where chromium is not installed (`.ci/run` installs it).
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerText,
  type GatewayHarness,
  startGatewayHarness,
} from '../../src/application/testing/gateway-harness.ts';
import { devAccount } from '../../src/chain/dev-accounts.ts';

const CHROMIUM = process.env.NEURINO_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

let open: GatewayHarness;
let narrowed: GatewayHarness;
let key: string;
let site: Server;
let siteUrl: string;
let browser: Browser;
let page: Page;

/** What the page's script tells of one call: the answer it could read, or the browser's refusal. */
type Outcome =
  | { ok: true; status: number; body: string; requestId: string | null }
  | { ok: false; error: string };

beforeAll(async () => {
  if (!hasChromium) return;
  open = await startGatewayHarness();
  key = await open.key(devAccount(5).address);
  await open.peer(0, (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']));
  narrowed = await startGatewayHarness({ gateway: { corsOrigins: ['https://app.example'] } });
  // The page's own origin: another port of the loopback, so another origin than the gateway's.
  site = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = await browser.newPage();
  await page.goto(siteUrl);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => site?.close(resolve) ?? resolve(undefined));
  await open?.close();
  await narrowed?.close();
});

/** `fetch` run by the page, with the headers the OpenAI SDK sends from a browser. */
function call(url: string, init: { method?: string; key?: string; body?: unknown } = {}): Promise<Outcome> {
  return page.evaluate(
    async ({ url, method, key, body }) => {
      try {
        const response = await fetch(url, {
          method,
          headers: {
            ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            'x-stainless-lang': 'js',
            'x-stainless-os': 'Unknown',
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return {
          ok: true as const,
          status: response.status,
          body: await response.text(),
          requestId: response.headers.get('x-request-id'),
        };
      } catch (error) {
        return { ok: false as const, error: String(error) };
      }
    },
    {
      url,
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      key: init.key,
      body: init.body,
    },
  );
}

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'test-llm',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

describe.skipIf(!hasChromium)('a web page of another origin, in chromium', () => {
  it('gets an answer, a stream and a readable error from the gateway with its key', async () => {
    const whole = await call(`${open.url}/v1/chat/completions`, { key, body: chat() });
    expect(whole).toMatchObject({ ok: true, status: 200 });
    if (!whole.ok) return;
    expect(JSON.parse(whole.body).choices[0].message.content).toBe('Hello world');
    // An exposed header: the page can quote it to the operator.
    expect(whole.requestId).toMatch(/^req_/);

    const stream = await call(`${open.url}/v1/chat/completions`, { key, body: chat({ stream: true }) });
    expect(stream).toMatchObject({ ok: true, status: 200 });
    if (stream.ok) expect(stream.body.endsWith('data: [DONE]\n\n')).toBe(true);

    const refused = await call(`${open.url}/v1/chat/completions`, { key: 'nrn_wrong', body: chat() });
    expect(refused).toMatchObject({ ok: true, status: 401 });
    if (refused.ok) expect(JSON.parse(refused.body).error.code).toBe('invalid_api_key');
  });

  it('cannot read the routes that need no key, nor a gateway that names other origins', async () => {
    for (const path of ['/health', '/metrics']) {
      const outcome = await call(`${open.url}${path}`);
      expect(outcome, path).toMatchObject({ ok: false, error: expect.stringMatching(/Failed to fetch/) });
    }
    const elsewhere = await call(`${narrowed.url}/v1/models`, { key });
    expect(elsewhere).toMatchObject({ ok: false, error: expect.stringMatching(/Failed to fetch/) });
  });
});
