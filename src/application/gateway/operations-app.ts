// The operators' own listener (`neurino router --operations-port`): /health, /metrics, /nodes and /pods
// on an address of their choosing (a private interface, a port the firewall keeps in), so the public
// gateway answers only /health of them, for load balancers. With an operator token every route but
// /health asks for it, and operators manage developers' API keys here (`/admin/keys`) while the router
// runs.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { GatewayContext } from './context.ts';
import {
  errorHandler,
  frameworkErrorHandler,
  MAX_PATH_PARAM_LENGTH,
  notFoundHandler,
  refuseNulInUrl,
} from './error-handler.ts';
import { operatorTokenAuth } from './operator-auth.ts';
import type { ApiKeyAdmin } from './ports.ts';
import { adminKeyRoutes } from './routes/admin-keys.ts';
import { type OperationsOptions, operationRoutes } from './routes/operations.ts';

export interface OperatorAccess {
  operatorToken?: string;
  /** Served only behind the token: a key bills its account's credits. */
  keyAdmin?: ApiKeyAdmin;
}

export function buildOperationsApp(
  logger: Logger,
  context: GatewayContext,
  options: OperationsOptions,
  access: OperatorAccess = {},
): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Admin bodies are a few fields.
    bodyLimit: 64 * 1024,
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    frameworkErrors: frameworkErrorHandler,
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onRequest', refuseNulInUrl);
  const { operatorToken, keyAdmin } = access;
  if (operatorToken !== undefined) app.addHook('onRequest', operatorTokenAuth(operatorToken));
  operationRoutes(app, context, { ...options, healthOnly: false });
  if (operatorToken !== undefined && keyAdmin !== undefined) adminKeyRoutes(app, keyAdmin);
  return app;
}
