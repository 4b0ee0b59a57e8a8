// GET /v1/credits over real HTTP, with a miner answering over WebSocket: the caller sees its account's
// credits held while a request runs and unsettled once it is answered; another account sees its own.
// (Figures across routers, journal modes and stores: metering-routers.test.ts; against the devnet's
// chain: test/e2e/network.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { answerText, type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(5).address;
const other = devAccount(6).address;
const BALANCE = 10n ** 18n;
let h: GatewayHarness;
let key: string;
/** Resolves once the miner holds the job with the prompt 'wait', with what makes it answer. */
let waiting: Promise<() => void>;
let arrived: (release: () => void) => void;
const expectWaitingJob = () => {
  waiting = new Promise((resolve) => {
    arrived = resolve;
  });
};

beforeAll(async () => {
  h = await startGatewayHarness({ suspendMs: 1 });
  key = await h.key(developer, BALANCE);
  await h.peer(0, async (peer, assign) => {
    const input = assign.input as { messages?: Array<{ content: string }> };
    if (input.messages?.[0]?.content === 'wait') {
      peer.accept(assign);
      await new Promise<void>((resolve) => arrived(resolve));
    }
    await answerText(peer, assign, ['Hel', 'lo']);
  });
});

afterAll(async () => {
  await h?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
type Json = any;

async function call(method: 'GET' | 'POST', path: string, apiKey: string | undefined, body?: unknown) {
  const response = await fetch(`${h.url}${path}`, {
    method,
    headers: {
      ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

const chat = (content: string) =>
  call('POST', '/v1/chat/completions', key, { model: 'test-llm', messages: [{ role: 'user', content }] });

describe('GET /v1/credits', () => {
  it("answers the key's account: on-chain balance, nothing unsettled or held yet", async () => {
    const { status, body } = await call('GET', '/v1/credits', key);
    expect(status).toBe(200);
    expect(body).toEqual({
      object: 'credits',
      account: developer,
      unit: 'wei',
      balance: BALANCE.toString(),
      unsettled: '0',
      held: '0',
      available: BALANCE.toString(),
    });
  });

  it('shows credits held while a request runs, then what it cost as unsettled', async () => {
    expectWaitingJob();
    const running = chat('wait');
    let during: Json;
    for (;;) {
      during = (await call('GET', '/v1/credits', key)).body;
      if (during.held !== '0') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const held = BigInt(during.held);
    expect(held).toBeGreaterThan(0n);
    expect(BigInt(during.available)).toBe(BALANCE - held);
    // Credits are held from the reservation on, before the miner has the job: let it answer once it has.
    (await waiting)();
    const answered = await running;
    expect(answered.status).toBe(200);

    const receipt = await call('GET', `/v1/receipts/${answered.body.id}`, key);
    const charged = BigInt(receipt.body.charged);
    expect(charged).toBeGreaterThan(0n);
    expect(charged).toBeLessThanOrEqual(held);
    const after = (await call('GET', '/v1/credits', key)).body;
    expect(after).toMatchObject({
      held: '0',
      unsettled: charged.toString(),
      available: (BALANCE - charged).toString(),
    });
    // Every key of the account sees the account, and a second request adds to what is unsettled.
    const second = await h.key(developer, BALANCE);
    expect((await chat('again')).status).toBe(200);
    const both = (await call('GET', '/v1/credits', second)).body;
    expect(BigInt(both.unsettled)).toBeGreaterThan(charged);
  });

  it("shows another account its own credits, and nobody's without a key", async () => {
    const otherKey = await h.key(other, 5n);
    expect((await call('GET', '/v1/credits', otherKey)).body).toMatchObject({
      account: other,
      balance: '5',
      unsettled: '0',
      available: '5',
    });
    const anonymous = await call('GET', '/v1/credits', undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('missing_api_key');
  });
});
