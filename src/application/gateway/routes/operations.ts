// GET /health (store, chain, connected nodes; 503 when a check fails or the router drains),
// GET /metrics (Prometheus text), GET /nodes (each connected node: hardware, slots, warm pods, uptime,
// suspension) and GET /pods (each pod served: warm nodes, the autoscaler's target, bounds, jobs). None
// needs a key: expose them to operators only.
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.ts';
import { SAME_ORIGIN_ONLY } from '../cors.ts';
import type { NodeList, PodList } from '../ports.ts';

/** A dependency probe: resolves when healthy, with optional details (e.g. the chain's block). */
export type HealthCheck = () => Promise<unknown>;

export interface OperationsOptions {
  checks: Record<string, HealthCheck>;
  connectedNodes(): number;
  draining(): boolean;
  nodes?: NodeList;
  pods?: PodList;
  checkTimeoutMs?: number;
  /** Only /health here: /metrics, /nodes and /pods are served on the operators' own listener. */
  healthOnly?: boolean;
}

type CheckResult = { ok: true; ms: number; details?: unknown } | { ok: false; ms: number; error: string };

async function run(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const details = await Promise.race([check(), timeout]);
    const ms = Math.round(performance.now() - started);
    return details === undefined ? { ok: true, ms } : { ok: true, ms, details };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, ms: Math.round(performance.now() - started), error: message.slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}

export function operationRoutes(
  app: FastifyInstance,
  context: GatewayContext,
  options: OperationsOptions,
): void {
  const timeoutMs = options.checkTimeoutMs ?? 2_000;

  app.get('/health', { config: SAME_ORIGIN_ONLY }, async (_request, reply) => {
    const names = Object.keys(options.checks);
    const results = await Promise.all(
      names.map((name) => run(options.checks[name] as HealthCheck, timeoutMs)),
    );
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
    const healthy = results.every((r) => r.ok);
    const draining = options.draining();
    reply.code(healthy && !draining ? 200 : 503);
    return {
      status: draining ? 'draining' : healthy ? 'ok' : 'degraded',
      checks,
      nodes: { connected: options.connectedNodes() },
      jobs: { inFlight: context.runner.inFlight },
    };
  });

  if (options.healthOnly === true) return;

  app.get('/metrics', { config: SAME_ORIGIN_ONLY }, async (_request, reply) => {
    const { registry } = context.metrics;
    reply.type(registry.contentType);
    return registry.metrics();
  });

  const { nodes } = options;
  if (nodes !== undefined) {
    app.get('/nodes', { config: SAME_ORIGIN_ONLY }, async () => ({ object: 'list', data: nodes.nodes() }));
  }
  const { pods } = options;
  if (pods !== undefined) {
    app.get('/pods', { config: SAME_ORIGIN_ONLY }, async () => ({ object: 'list', data: pods.pods() }));
  }
}
