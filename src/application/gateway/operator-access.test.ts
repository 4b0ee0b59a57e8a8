// The operators' listener with an operator token: every route but /health asks for it, and operators
// manage developers' API keys there (`/admin/keys`) while the router runs, a revoke refused at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';
import { operatorTokenAuth } from './operator-auth.ts';

const TOKEN = 'op_0123456789abcdefghijABCDEFGHIJ';
const ACCOUNT = '0x00000000000000000000000000000000000000a1';
const CHECKSUMMED = '0x00000000000000000000000000000000000000A1';

let h: GatewayHarness;
let ops: string;

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { separateOperations: true, operatorToken: TOKEN } });
  await h.peer(0);
  ops = await h.operationsUrl();
});

afterAll(async () => {
  await h?.close();
});

type ErrorBody = { error: { code: string; param: string | null; message: string } };

async function admin(path: string, init: RequestInit = {}, token = TOKEN) {
  const response = await fetch(`${ops}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers as Record<string, string> | undefined),
    },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const codeOf = (body: unknown) => (body as ErrorBody).error.code;

describe('the operator token', () => {
  it('is asked for on every route but /health', async () => {
    expect((await fetch(`${ops}/health`)).status).toBe(200);
    for (const path of ['/metrics', '/nodes', '/pods', '/admin/keys', '/no-such-route']) {
      const bare = await fetch(`${ops}${path}`);
      expect(bare.status, path).toBe(401);
      expect(codeOf(await bare.json()), path).toBe('missing_operator_token');
      const wrong = await fetch(`${ops}${path}`, { headers: { authorization: `Bearer ${TOKEN}x` } });
      expect(codeOf(await wrong.json()), path).toBe('invalid_operator_token');
      const basic = await fetch(`${ops}${path}`, { headers: { authorization: `Basic ${TOKEN}` } });
      expect(basic.status, path).toBe(401);
      expect(codeOf(await basic.json()), path).toBe('invalid_operator_token');
    }
    const metrics = await fetch(`${ops}/metrics`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('neurino_connected_nodes 1');
    const nodes = await admin('/nodes');
    expect(nodes.status).toBe(200);
    expect(nodes.body.data).toHaveLength(1);
    const pods = await admin('/pods');
    expect(pods.status).toBe(200);
    expect(pods.body.data).toMatchObject([{ podId: h.podId, warmNodes: 1 }]);
  });

  it('is not an API key: the gateway refuses it, and serves no /admin routes', async () => {
    const models = await fetch(`${h.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(models.status).toBe(401);
    const onGateway = await fetch(`${h.url}/admin/keys?account=${ACCOUNT}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(onGateway.status).toBe(404);
  });

  it('must be long, printable and without spaces', () => {
    expect(() => operatorTokenAuth('short')).toThrow(/at least 24 characters/);
    expect(() => operatorTokenAuth(`${'a'.repeat(30)} b`)).toThrow(/without spaces/);
    expect(() => operatorTokenAuth('a'.repeat(600))).toThrow(/at most 512/);
  });
});

describe('/admin/keys', () => {
  it('creates a key that works at once, lists it, and revokes it at once', async () => {
    const created = await admin('/admin/keys', {
      method: 'POST',
      body: JSON.stringify({ account: ACCOUNT, label: 'ci' }),
    });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^nrn_[0-9A-Za-z]{40}$/);
    expect(created.body).toMatchObject({
      object: 'api_key',
      account: CHECKSUMMED,
      label: 'ci',
      prefix: key.slice(0, 8),
      revoked_at: null,
    });
    const id = created.body.id as string;
    expect(Math.abs((created.body.created_at as number) - Date.now() / 1_000)).toBeLessThan(60);

    h.balances.set(CHECKSUMMED, 10n ** 18n);
    const asDeveloper = { headers: { authorization: `Bearer ${key}` } };
    expect((await fetch(`${h.url}/v1/models`, asDeveloper)).status).toBe(200);

    const listed = await admin(`/admin/keys?account=${ACCOUNT}`);
    expect(listed.status).toBe(200);
    const data = listed.body.data as Record<string, unknown>[];
    expect(data.map((k) => k.id)).toContain(id);
    for (const entry of data) expect(entry).not.toHaveProperty('key');

    const revoked = await admin(`/admin/keys/${id}`, { method: 'DELETE' });
    expect(revoked).toEqual({ status: 200, body: { object: 'api_key.revoked', id, revoked: true } });
    const refused = await fetch(`${h.url}/v1/models`, asDeveloper);
    expect(refused.status).toBe(401);
    expect(codeOf(await refused.json())).toBe('invalid_api_key');

    const again = await admin(`/admin/keys/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(codeOf(again.body)).toBe('api_key_not_found');
    const after = (await admin(`/admin/keys?account=${CHECKSUMMED}`)).body.data as Record<string, unknown>[];
    expect(after.find((k) => k.id === id)?.revoked_at).toEqual(expect.any(Number));
  });

  it('lists every key in pages, and finds a leaked key by itself or by its shown prefix', async () => {
    const other = '0x00000000000000000000000000000000000000b2';
    const made = [];
    for (const account of [ACCOUNT, other, other]) {
      const answer = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ account }) });
      made.push(answer.body as { id: string; key: string; prefix: string });
      // Distinct milliseconds, so newest first is the order they were made in.
      await new Promise((r) => setTimeout(r, 2));
    }
    const newest = made.map((k) => k.id).reverse();
    const first = (await admin('/admin/keys?limit=2')).body;
    expect(first).toMatchObject({ object: 'list', has_more: true, first_id: newest[0], last_id: newest[1] });
    const second = (await admin(`/admin/keys?limit=2&after=${first.last_id}`)).body;
    expect((second.data as { id: string }[])[0]?.id).toBe(newest[2]);
    const theirs = (await admin(`/admin/keys?account=${other}`)).body.data as { id: string }[];
    expect(theirs.map((k) => k.id)).toEqual(newest.slice(0, 2));
    const leaked = made[1] as { id: string; key: string; prefix: string };
    for (const prefix of [leaked.key, leaked.prefix]) {
      const found = (await admin(`/admin/keys?prefix=${prefix}`)).body.data as { id: string }[];
      expect(
        found.map((k) => k.id),
        prefix,
      ).toEqual([leaked.id]);
    }
  });

  it('refuses bad input by name and makes no key', async () => {
    const before = (await h.store.query<{ n: number }>('select count(*)::int as n from api_keys'))[0]?.n;
    const cases: [RequestInit & { path?: string }, string, string | null][] = [
      [{ body: JSON.stringify({ account: '0x12' }) }, 'invalid_request', 'account'],
      [{ body: JSON.stringify({ label: 'x' }) }, 'invalid_request', 'account'],
      [{ body: JSON.stringify({ account: ACCOUNT, label: 'x'.repeat(201) }) }, 'invalid_request', 'label'],
      [{ body: JSON.stringify({ account: ACCOUNT, label: '' }) }, 'invalid_request', 'label'],
      [{ body: JSON.stringify({ account: ACCOUNT, label: 'ci\u0000' }) }, 'invalid_request', 'label'],
      [{ body: JSON.stringify({ account: ACCOUNT, label: 'a\nb' }) }, 'invalid_request', 'label'],
      [{ body: JSON.stringify({ account: ACCOUNT, owner: 'me' }) }, 'invalid_request', null],
      [{ body: JSON.stringify([ACCOUNT]) }, 'invalid_request', null],
      [{ body: '{"account":' }, 'invalid_request', null],
    ];
    for (const [init, code, param] of cases) {
      const answer = await admin('/admin/keys', { method: 'POST', ...init });
      expect(answer.status, String(init.body)).toBe(400);
      expect(codeOf(answer.body), String(init.body)).toBe(code);
      if (param !== null) expect((answer.body as ErrorBody).error.param, String(init.body)).toBe(param);
    }
    const after = (await h.store.query<{ n: number }>('select count(*)::int as n from api_keys'))[0]?.n;
    expect(after).toBe(before);

    for (const query of [
      '?account=nope',
      `?account=${ACCOUNT}&extra=1`,
      '?limit=0',
      '?limit=101',
      '?after=nope',
      `?after=key_${'Z'.repeat(24)}`,
      `?prefix=${'n'.repeat(65)}`,
      '?prefix=nrn_%00',
    ]) {
      const listed = await admin(`/admin/keys${query}`);
      expect(listed.status, query).toBe(400);
      expect(codeOf(listed.body), query).toBe('invalid_request');
    }
    const malformed = await admin('/admin/keys/not-a-key-id', { method: 'DELETE' });
    expect(malformed.status).toBe(400);
    expect((malformed.body as ErrorBody).error.param).toBe('id');
    const unknown = await admin(`/admin/keys/key_${'A'.repeat(24)}`, { method: 'DELETE' });
    expect(unknown.status).toBe(404);
    expect(codeOf(unknown.body)).toBe('api_key_not_found');
  });
});
