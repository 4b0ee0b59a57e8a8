// The gateway: a Fastify app serving the OpenAI-compatible API, the jobs API, health and metrics, and
// handing miner WebSockets (`/v1/miners`) to the router core. Built here, listened on by the caller.
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Address } from 'viem';
import type { MinerSocket } from '../../orchestration/router/miner-socket.ts';
import { MAX_FRAME_BYTES } from '../../protocol/codec.ts';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import { newApiId } from '../../protocol/ids.ts';
import { unixSeconds } from '../../protocol/openai-responses.ts';
import type { CorkableStream } from '../../protocol/write-coalescing.ts';
import { apiKeyAuth } from './auth.ts';
import { type BudgetDefaults, checkBudgetDefaults, DEFAULT_BUDGET } from './budget.ts';
import { clientErrorHandler } from './client-errors.ts';
import type { GatewayContext } from './context.ts';
import { type CorsOrigins, corsHeadersOf, registerCors } from './cors.ts';
import {
  errorHandler,
  frameworkErrorHandler,
  MAX_PATH_PARAM_LENGTH,
  notFoundHandler,
  refuseNulInUrl,
} from './error-handler.ts';
import { JobRunner } from './job-runner.ts';
import { GatewayMetrics } from './metrics.ts';
import { buildOperationsApp } from './operations-app.ts';
import type {
  ApiKeyAdmin,
  ApiKeyAuthenticator,
  AutoscalerStats,
  ConversationStore,
  CreditAccounts,
  CreditReservations,
  IdempotencyClaims,
  JobDispatcher,
  JobLog,
  MeteringBacklog,
  MinerEndpointStats,
  ModelCatalog,
  NodeList,
  PodList,
  RateCounter,
  ReceiptLookup,
  ResponseStore,
  SettlementStats,
} from './ports.ts';
import { registerRateLimits } from './rate-limits.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { creditRoutes } from './routes/credits.ts';
import { embeddingRoutes } from './routes/embeddings.ts';
import { generationRoutes } from './routes/generation.ts';
import { jobRoutes } from './routes/jobs.ts';
import { modelRoutes } from './routes/models.ts';
import { type HealthCheck, type OperationsOptions, operationRoutes } from './routes/operations.ts';
import { receiptRoutes } from './routes/receipts.ts';
import { responsesRoutes } from './routes/responses.ts';

export interface GatewayDeps {
  apiKeys: ApiKeyAuthenticator;
  ledger: CreditReservations;
  jobs: JobLog;
  dispatcher: JobDispatcher;
  catalog: ModelCatalog;
  connectedNodes(): number;
  logger: Logger;
  settlement?: () => Promise<SettlementStats>;
  /** The metering's store backlog, for /metrics. */
  metering?: () => MeteringBacklog;
  /** The autoscaler's requests and each pod's warm nodes, for /metrics. */
  autoscaler?: AutoscalerStats;
  /** Probes for GET /health, e.g. `{ store, chain }`. */
  checks?: Record<string, HealthCheck>;
  /** Credit accounts as the metering sees them; without it `GET /v1/credits` does not exist. */
  credits?: CreditAccounts;
  /** Stored receipts with their evidence; without it `GET /v1/receipts/:id` does not exist. */
  receipts?: ReceiptLookup;
  /**
   * Stored responses of the Responses API; without it responses are not kept (`store` is answered false)
   * and `previous_response_id` and `GET /v1/responses/:id` do not exist.
   */
  responses?: ResponseStore;
  /** The Conversations API's conversations; without it `/v1/conversations` does not exist. */
  conversations?: ConversationStore;
  /** Rate-limit counts shared with the other routers of the store; without it each router counts alone. */
  rateCounts?: RateCounter;
  /** Idempotency keys of the jobs API; without it `Idempotency-Key` is ignored. */
  idempotency?: IdempotencyClaims;
  /** Key management for operators: `/admin/keys` on their listener, when it has an operator token. */
  keyAdmin?: ApiKeyAdmin;
  /** The connected nodes (the router core's NodeDirectory); without it `GET /nodes` does not exist. */
  nodes?: NodeList;
  /** The pods served, as the autoscaler sizes them; without it `GET /pods` does not exist. */
  pods?: PodList;
  /** Where miner WebSockets go (the router core's MinerHub); without it `/v1/miners` does not exist. */
  miners?: {
    handleSocket(socket: MinerSocket, remoteAddress: string, stream?: CorkableStream): void;
    stats(): MinerEndpointStats;
  };
}

export interface GatewayOptions {
  /** The frontend credited with this gateway's traffic (its share of each payment). */
  frontend?: Address;
  budget?: BudgetDefaults;
  /** Largest request body; OpenAI bodies with long contexts run to megabytes. */
  bodyLimitBytes?: number;
  /** Time a client has to send its whole request (default 2 minutes); past it, 408 `request_timeout`. */
  requestTimeoutMs?: number;
  /** Memory assumed when reserving credits for a pod that declares less. */
  reserveVramMiB?: number;
  /** Node.js process metrics (CPU, memory, event loop) in /metrics. */
  defaultMetrics?: boolean;
  /** Origins whose browser scripts may call the API (default `'*'`: any; `[]`: none). */
  corsOrigins?: CorsOrigins;
  /** Invalid API keys a client address may send per minute before it gets 429 (default 30; 0: no limit). */
  authFailuresPerMinute?: number;
  /** Requests an API key may make per minute, in this router process (default 0: no limit). */
  requestsPerMinutePerKey?: number;
  /**
   * Serve /metrics, /nodes and /pods on a listener of their own (`Gateway.operations`, with /health too)
   * rather than on the gateway's port, which then answers only /health of them.
   */
  separateOperations?: boolean;
  /**
   * The secret every route of the operators' listener but /health asks for (`Authorization: Bearer`); it
   * also opens `/admin/keys` there. Without it that listener is open and manages no keys.
   */
  operatorToken?: string;
  /**
   * Proxies (addresses or CIDRs) whose `X-Forwarded-For` names the client. Without them the client is
   * the peer of the TCP connection; behind a proxy that is the proxy, which the per-address limits
   * would then count for every client.
   */
  trustProxy?: string[];
}

export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
/** Time to receive a whole request, headers and body (not the answer, which may stream for long). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
export const DEFAULT_RESERVE_VRAM_MIB = 1024;

export interface Gateway {
  app: FastifyInstance;
  runner: JobRunner;
  metrics: GatewayMetrics;
  /** The operators' listener, when `separateOperations` asked for one (not listening yet). */
  operations: FastifyInstance | undefined;
  readonly draining: boolean;
  /** Refuses new requests (503) and waits for running jobs; then close the app. */
  drain(): Promise<void>;
}

/** Routes every caller may reach while the router drains, and without a key. */
const OPEN_ROUTES = new Set(['/health', '/metrics', '/nodes', '/pods']);

export async function buildGateway(deps: GatewayDeps, options: GatewayOptions = {}): Promise<Gateway> {
  const budget = checkBudgetDefaults(options.budget ?? DEFAULT_BUDGET);
  const { miners, nodes } = deps;
  const metrics = new GatewayMetrics(
    {
      connectedNodes: deps.connectedNodes,
      ...(nodes && {
        nodesRankedBelowClaim: () => nodes.nodes().filter((n) => n.rankedEfficiency !== null).length,
        nodeStates: () => nodes.nodes().map((n) => n.state),
      }),
      ...(miners && { miners: () => miners.stats() }),
      ...(deps.settlement && { settlement: deps.settlement }),
      ...(deps.metering && { metering: deps.metering }),
      ...(deps.autoscaler && { autoscaler: deps.autoscaler }),
    },
    { defaultMetrics: options.defaultMetrics ?? true },
  );
  const runner = new JobRunner({
    ledger: deps.ledger,
    dispatcher: deps.dispatcher,
    metrics,
    logger: deps.logger,
    frontend: options.frontend,
    reserveVramMiB: options.reserveVramMiB ?? DEFAULT_RESERVE_VRAM_MIB,
  });
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const corsOrigins = options.corsOrigins ?? '*';
  if (!Number.isSafeInteger(requestTimeout) || requestTimeout <= 0)
    throw new RangeError('requestTimeoutMs must be a positive whole number of milliseconds');
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One line per request is ours (onResponse, at debug): Fastify's two per request cost throughput.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => newApiId('request'),
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // A `__proto__` or `constructor.prototype` key is dropped, not refused as "not valid JSON" (it is
    // valid JSON; no request field has that name).
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    requestTimeout,
    // Given to Node's server as it is made: set afterwards (as Fastify does) it misses a body that stops
    // arriving. It checks every quarter of the time (its default, 30 s, would let a request overstay).
    http: { requestTimeout, connectionsCheckingInterval: Math.min(requestTimeout / 4, 30_000) },
    clientErrorHandler: clientErrorHandler(requestTimeout),
    // While closing, Fastify would answer a request that comes on a kept-alive connection with its own
    // 503 body; the drain (begun before the close) refuses it in our error shape instead.
    return503OnClosing: false,
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    frameworkErrors: (error, request, reply) => {
      // Answered before any hook, so before the CORS plugin's: its headers are written here.
      reply.headers(corsHeadersOf(corsOrigins, request.headers.origin));
      frameworkErrorHandler(error, request, reply);
    },
  });
  // JSON only: a text/plain body is refused with 415 instead of failing its schema.
  app.removeContentTypeParser('text/plain');
  // A compressed body would otherwise fail as "not valid JSON". A callback hook: no promise per request.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding === undefined || encoding === '' || encoding === 'identity') return done(null, payload);
    const shown = JSON.stringify(encoding.slice(0, 40));
    done(
      new FatalError('unsupported_media_type', {
        message: `Content-Encoding ${shown} is not supported: send the body uncompressed`,
        param: 'content-encoding',
      }),
    );
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  // Before the key check: a browser's preflight carries no key, and an error must be readable by the page.
  await registerCors(app, corsOrigins);
  app.addHook('onRequest', refuseNulInUrl);

  let draining = false;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (draining && !OPEN_ROUTES.has(request.routeOptions.url ?? '')) {
      reply.header('connection', 'close');
      throw new RetryableError('service_unavailable', { message: 'Router is shutting down' });
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    request.log.debug({ route, status: reply.statusCode, ms: reply.elapsedTime }, 'request completed');
    // A connection whose last answer ends while the router drains is closed at once, not left idle until
    // its keep-alive runs out (the server's close waits for it). Next turn: then it counts as idle.
    if (draining) setImmediate(() => app.server.closeIdleConnections());
  });

  const context: GatewayContext = {
    catalog: deps.catalog,
    runner,
    metrics,
    budget,
    startedAt: unixSeconds(),
  };
  const operationsOptions: OperationsOptions = {
    checks: deps.checks ?? {},
    connectedNodes: deps.connectedNodes,
    draining: () => draining,
    ...(deps.nodes === undefined ? {} : { nodes: deps.nodes }),
    ...(deps.pods === undefined ? {} : { pods: deps.pods }),
  };
  const separate = options.separateOperations === true;
  operationRoutes(app, context, { ...operationsOptions, healthOnly: separate });
  const operations = separate
    ? buildOperationsApp(deps.logger, context, operationsOptions, {
        ...(options.operatorToken === undefined ? {} : { operatorToken: options.operatorToken }),
        ...(deps.keyAdmin === undefined ? {} : { keyAdmin: deps.keyAdmin }),
      })
    : undefined;
  const limits = await registerRateLimits(
    app,
    {
      authFailuresPerMinute: options.authFailuresPerMinute ?? 30,
      requestsPerMinutePerKey: options.requestsPerMinutePerKey ?? 0,
    },
    deps.rateCounts,
  );
  await app.register(async (api) => {
    api.addHook('onRequest', apiKeyAuth(deps.apiKeys, limits));
    modelRoutes(api, context);
    generationRoutes(api, context);
    responsesRoutes(api, context, deps.responses, deps.conversations, deps.jobs);
    if (deps.conversations !== undefined) conversationRoutes(api, deps.conversations);
    embeddingRoutes(api, context);
    jobRoutes(api, context, deps.jobs, deps.idempotency);
    if (deps.receipts !== undefined) receiptRoutes(api, deps.receipts);
    if (deps.credits !== undefined) creditRoutes(api, deps.credits);
  });
  if (deps.miners !== undefined) await minerSockets(app, deps.miners);

  return {
    app,
    runner,
    metrics,
    operations,
    get draining() {
      return draining;
    },
    async drain() {
      draining = true;
      await runner.drain();
    },
  };
}

async function minerSockets(app: FastifyInstance, miners: NonNullable<GatewayDeps['miners']>): Promise<void> {
  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES } });
  app.route({
    method: 'GET',
    url: '/v1/miners',
    handler: async () => {
      throw new FatalError('invalid_request', { message: 'Miners connect here over WebSocket' });
    },
    wsHandler: (socket, request) => miners.handleSocket(socket, request.ip, request.raw.socket),
  });
}
