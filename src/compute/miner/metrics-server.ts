// The node's operations listener, for its operator only: GET /metrics (Prometheus) and GET /health (the
// miner's state), on loopback unless told otherwise. Jobs never come through it, and pods listen on nothing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MinerState } from './miner.ts';
import type { NodeMetrics } from './node-metrics.ts';

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `metrics` and the state of the miner they watch. */
export async function startMetricsServer(options: {
  readonly metrics: NodeMetrics;
  readonly port: number;
  readonly host?: string;
}): Promise<MetricsServer> {
  const { metrics } = options;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
    } else if (path === '/health') {
      const state = metrics.state();
      const body = state === undefined ? { status: 'starting' } : healthOf(state);
      // Unhealthy while the node is not admitted: a supervisor may act on it.
      response
        .writeHead(body.status === 'connected' ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify(body));
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What /health shows of the miner's state (not its hardware or refusal details). */
function healthOf(state: MinerState) {
  const { status, node, router, connections, slots, activeJobs, jobsSucceeded, jobsFailed } = state;
  const { warmPods, podMemory } = state;
  return {
    status,
    node,
    router,
    connections,
    slots,
    activeJobs,
    jobsSucceeded,
    jobsFailed,
    warmPods,
    podMemory,
  };
}
