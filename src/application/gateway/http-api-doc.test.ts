// docs/http-api.md against the code: every route the gateway and the operators' listener register has
// its heading there (and every heading a route), and its error table lists every code of the registry
// with the status, type, retryability and message the code answers with.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

const doc = readFileSync(new URL('../../../docs/http-api.md', import.meta.url), 'utf8');

/** "METHOD /path" of every route in Fastify's printed tree, HEAD (implied by GET) and CORS's OPTIONS aside. */
function routesOf(app: FastifyInstance): string[] {
  const prefixes: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (match === null) continue;
    const depth = (match[1] ?? '').length / 4;
    const label = match[2] ?? '';
    const parent = prefixes[depth - 1] ?? '';
    // The one wildcard route (`/v1/models/*`, as model names may hold slashes) prints as `*`.
    const path = label.startsWith('*') && !parent.endsWith('/') ? `${parent}/${label}` : parent + label;
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ')) {
      if (method !== '' && method !== 'HEAD' && method !== 'OPTIONS') routes.push(`${method} ${path}`);
    }
  }
  return routes.map((route) => route.replace('/v1/models/*', '/v1/models/:model'));
}

let together: GatewayHarness;
let separate: GatewayHarness;

beforeAll(async () => {
  together = await startGatewayHarness();
  separate = await startGatewayHarness({
    gateway: { separateOperations: true, operatorToken: 'a-token-for-the-doc-test-0001' },
  });
});

afterAll(async () => {
  await together?.close();
  await separate?.close();
});

describe('docs/http-api.md', () => {
  it('has a heading for every route, and a route for every heading', () => {
    const operations = separate.gateway.operations;
    if (operations === undefined) throw new Error('no operations listener');
    const registered = new Set([
      ...routesOf(together.gateway.app),
      ...routesOf(separate.gateway.app),
      ...routesOf(operations),
    ]);
    // Sanity: the parse found the nested routes.
    expect(registered).toContain('POST /v1/jobs/:id/cancel');
    expect(registered).toContain('DELETE /admin/keys/:id');
    const documented = new Set([...doc.matchAll(/^#{2,4} `([A-Z]+ \/\S*)`$/gm)].map((m) => m[1]));
    expect(
      [...registered].filter((route) => !documented.has(route)),
      'routes without a heading',
    ).toEqual([]);
    expect(
      [...documented].filter((route) => !registered.has(route ?? '')),
      'headings of no route',
    ).toEqual([]);
  });

  it('lists every error code as it answers', () => {
    const rows = new Map<string, string[]>();
    for (const line of doc.split('\n')) {
      const cells = line.split('|').map((cell) => cell.trim());
      const code = /^`([a-z_]+)`$/.exec(cells[1] ?? '')?.[1];
      if (code !== undefined && cells.length === 7) rows.set(code, cells.slice(2, 6));
    }
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(rows.get(code), code).toEqual([
        String(info.status),
        `\`${info.type}\``,
        info.retryable ? 'yes' : 'no',
        info.message,
      ]);
    }
    expect([...rows.keys()].filter((code) => !Object.hasOwn(ERROR_CODES, code))).toEqual([]);
  });
});
