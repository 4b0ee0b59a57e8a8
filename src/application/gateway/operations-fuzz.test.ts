// Fuzzing the operators' listener: seeded mutations of valid /admin/keys requests (bodies, query strings,
// ids, tokens). Each answer is a success or a registered error with its status; a key is made only by a
// 201, revoked only by a 200, and the listener keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../protocol/error-codes.ts';
import { mulberry32 } from '../../protocol/mulberry32.ts';
import { type Json, mutate, pick, type Random } from '../../protocol/testing/json-mutation.ts';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

const CASES = Number(process.env.NEURINO_FUZZ_CASES ?? 600);
const SEED = Number(process.env.NEURINO_FUZZ_SEED ?? 20261127);
const TOKEN = 'op_0123456789abcdefghijABCDEFGHIJ';
const ACCOUNT = '0x00000000000000000000000000000000000000a1';

let h: GatewayHarness;
let ops: string;
/** A key that exists, so ids and prefixes also name real keys. */
let known: { id: string; prefix: string };

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { separateOperations: true, operatorToken: TOKEN } });
  ops = await h.operationsUrl();
  const made = await fetch(`${ops}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ account: ACCOUNT, label: 'fuzz' }),
  });
  known = (await made.json()) as { id: string; prefix: string };
});

afterAll(async () => {
  await h?.close();
});

const QUERIES = ['account=', 'limit=', 'after=', 'prefix=', 'extra='];
const VALUES = [
  '',
  ACCOUNT,
  '0x12',
  '5',
  '0',
  '101',
  '-1',
  'abc',
  'nrn_',
  'key_x',
  '%00',
  '%ZZ',
  'é',
  'A'.repeat(200),
];

function fuzzCase(random: Random): { method: string; path: string; body?: string; token: string } {
  const token = random() < 0.05 ? pick(random, ['', 'wrong', `${TOKEN}x`]) : TOKEN;
  const roll = random();
  if (roll < 0.5) {
    const valid: Json = pick(random, [
      { account: ACCOUNT },
      { account: ACCOUNT, label: 'ci' },
    ] satisfies Json[]);
    const body = random() < 0.1 ? '{"account":' : JSON.stringify(mutate(valid, random));
    return { method: 'POST', path: '/admin/keys', body, token };
  }
  if (roll < 0.8) {
    const query = Array.from({ length: Math.floor(random() * 3) }, () => {
      const name = pick(random, QUERIES);
      const value = name === 'after=' && random() < 0.5 ? known.id : pick(random, VALUES);
      return `${name}${name === 'prefix=' && random() < 0.5 ? known.prefix : value}`;
    }).join('&');
    return { method: 'GET', path: `/admin/keys${query === '' ? '' : `?${query}`}`, token };
  }
  const id =
    random() < 0.3 ? known.id : pick(random, ['key_x', '%00', 'A'.repeat(200), `key_${'Z'.repeat(24)}`]);
  return { method: 'DELETE', path: `/admin/keys/${id}`, token };
}

const keyCount = async () =>
  Number((await h.store.query<{ n: unknown }>('select count(*) as n from api_keys'))[0]?.n);
const revokedCount = async () =>
  Number((await h.store.query<{ n: unknown }>('select count(revoked_at) as n from api_keys'))[0]?.n);

describe('operations fuzz', () => {
  it(`answers ${CASES} mutated /admin/keys requests with a success or a registered error`, async () => {
    const random = mulberry32(SEED);
    const failures: string[] = [];
    let created = 0;
    for (let i = 0; i < CASES; i++) {
      const { method, path, body, token } = fuzzCase(random);
      const [keys, revoked] = [await keyCount(), await revokedCount()];
      const response = await fetch(`${ops}${path}`, {
        method,
        headers: {
          ...(token === '' ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body }),
      });
      const text = await response.text();
      const seen = `seed ${SEED} case ${i}: ${method} ${path.slice(0, 120)} ${body?.slice(0, 200) ?? ''}\n→ ${response.status} ${text.slice(0, 300)}`;
      if (response.status >= 400) {
        let code = '';
        try {
          code = (JSON.parse(text) as { error: { code: string } }).error.code;
        } catch {}
        if (!Object.hasOwn(ERROR_CODES, code)) failures.push(`${seen}\nnot a registered error`);
        else if (ERROR_CODES[code as ErrorCode].status !== response.status) failures.push(`${seen}\nstatus`);
      }
      const made = (await keyCount()) - keys;
      if (made !== (response.status === 201 ? 1 : 0)) failures.push(`${seen}\n${made} keys made`);
      if (response.status === 201) created++;
      const revokedNow = (await revokedCount()) - revoked;
      if (revokedNow !== (method === 'DELETE' && response.status === 200 ? 1 : 0)) {
        failures.push(`${seen}\n${revokedNow} keys revoked`);
      }
    }
    expect(failures.slice(0, 5).join('\n\n'), `${failures.length} failing cases`).toBe('');
    expect(created).toBeGreaterThan(0);
    expect((await fetch(`${ops}/health`)).status).toBe(200);
  });
});
