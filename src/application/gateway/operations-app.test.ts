// `separateOperations`: /metrics and /nodes leave the gateway's port for the operators' own listener,
// which answers /health too; the gateway keeps /health for load balancers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

let h: GatewayHarness;
let operationsUrl: string;

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { separateOperations: true } });
  await h.peer(0);
  operationsUrl = await h.operationsUrl();
});

afterAll(async () => {
  await h?.close();
});

describe('the operators’ own listener', () => {
  it('serves /health, /metrics, /nodes and /pods', async () => {
    expect((await fetch(`${operationsUrl}/health`)).status).toBe(200);
    const metrics = await fetch(`${operationsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('neurino_connected_nodes 1');
    const nodes = (await (await fetch(`${operationsUrl}/nodes`)).json()) as { data: unknown[] };
    expect(nodes.data).toHaveLength(1);
    const pods = (await (await fetch(`${operationsUrl}/pods`)).json()) as { data: unknown[] };
    expect(pods.data).toHaveLength(1);
    // Without an operator token nobody may make keys there.
    expect((await fetch(`${operationsUrl}/admin/keys?account=0x${'a'.repeat(40)}`)).status).toBe(404);
    const missing = await fetch(`${operationsUrl}/v1/models`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
  });

  it('leaves the gateway only /health of them', async () => {
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
    for (const path of ['/metrics', '/nodes', '/pods']) {
      const response = await fetch(`${h.url}${path}`);
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
    }
  });
});
