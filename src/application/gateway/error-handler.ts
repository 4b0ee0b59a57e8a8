// The one place exceptions become answers: every error, ours or Fastify's, leaves as OpenAI-style JSON
// with a stable code. Errors we did not raise on purpose answer 500 internal_error and are logged whole.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  createError,
  FatalError,
  isNeurinoError,
  type NeurinoError,
  toOpenAIError,
} from '../../protocol/errors.ts';

/** Fastify's limit on a path parameter (an id in the URL), its default. */
export const MAX_PATH_PARAM_LENGTH = 100;

interface Answer {
  status: number;
  error: NeurinoError;
}

/** Fastify's own errors (body parsing, limits) in our vocabulary. */
function fromFastify(error: FastifyError): Answer | undefined {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return {
        status: 400,
        error: new FatalError('invalid_request', {
          message: 'The URL is malformed (a percent-encoded byte is not valid UTF-8)',
        }),
      };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return {
        status: 400,
        error: new FatalError('invalid_request', {
          message: `A part of the URL is longer than ${MAX_PATH_PARAM_LENGTH} characters: no id is that long`,
        }),
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, error: new FatalError('payload_too_large') };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, error: new FatalError('unsupported_media_type', { param: 'content-type' }) };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, error: new FatalError('invalid_request', { message: error.message }) };
    default:
      break;
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return {
      status: 400,
      error: new FatalError('invalid_request', {
        message: 'We could not parse the JSON body of your request',
      }),
    };
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, error: createError('invalid_request', { message: error.message }) };
  }
  return undefined;
}

export function answerFor(error: unknown): Answer {
  if (isNeurinoError(error)) return { status: error.status, error };
  const fastify =
    typeof error === 'object' && error !== null ? fromFastify(error as FastifyError) : undefined;
  return fastify ?? { status: 500, error: new FatalError('internal_error', { cause: error }) };
}

export function errorHandler(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply | undefined {
  const answer = answerFor(error);
  const { code } = answer.error;
  // Failures we raise on purpose (no node, deadline, bad result) are operations, not bugs: no stack.
  if (code === 'internal_error') request.log.error({ err: error }, 'request failed');
  else if (answer.status >= 500)
    request.log.warn({ code, status: answer.status, reason: answer.error.message }, 'request failed');
  else request.log.info({ code, status: answer.status }, 'request refused');
  if (reply.sent || reply.raw.headersSent) return;
  // Whole seconds, as HTTP has them (a node's wait may come in ms).
  if (answer.error.retryAfterSeconds !== undefined)
    reply.header('retry-after', Math.max(0, Math.ceil(answer.error.retryAfterSeconds)));
  return reply.code(answer.status).type('application/json; charset=utf-8').send(toOpenAIError(answer.error));
}

/**
 * Fastify's `frameworkErrors`: a URL its router cannot read (bad percent-encoding, an id over the length
 * limit) is answered before any route, by default in Fastify's own shape; through here, in ours.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  // No hook runs for these: the request id is set here, as the gateway's onRequest hook sets it.
  reply.header('x-request-id', request.id);
  errorHandler(error, request, reply);
}

/**
 * An onRequest hook: a URL holding a NUL byte (`%00`) is refused, as no id or query value can hold one
 * (the store cannot even compare such a string).
 */
export function refuseNulInUrl(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) {
  if (!request.url.includes('%00')) return done();
  done(
    new FatalError('invalid_request', {
      message: 'The URL holds a NUL byte (%00), which no id or query parameter may hold',
    }),
  );
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const route = `${request.method} ${request.url.split('?')[0] ?? ''}`.slice(0, 200);
  const error = new FatalError('route_not_found', { message: `Unknown route: ${route}` });
  return reply.code(404).send(toOpenAIError(error));
}
