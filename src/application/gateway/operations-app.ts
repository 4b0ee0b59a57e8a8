// The operators' own listener (`neurino router --operations-port`): /health, /metrics and /nodes on an
// address of their choosing (a private interface, a port the firewall keeps in), so the public gateway
// answers only /health of them, for load balancers.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { GatewayContext } from './context.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { type OperationsOptions, operationRoutes } from './routes/operations.ts';

export function buildOperationsApp(
  logger: Logger,
  context: GatewayContext,
  options: OperationsOptions,
): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  operationRoutes(app, context, { ...options, healthOnly: false });
  return app;
}
