// The operators' listener answers to one secret, the operator token (`Authorization: Bearer <token>`),
// except /health, which load balancers and orchestrators probe without credentials. The token is compared
// by its hash in constant time, so the comparison's timing says nothing about it.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { FatalError } from '../../protocol/errors.ts';
import { bearerToken } from './auth.ts';

/** Shorter secrets are refused when the router starts: the listener may face a network. */
export const MIN_OPERATOR_TOKEN_LENGTH = 24;
const MAX_OPERATOR_TOKEN_LENGTH = 512;

/** Why `token` cannot be an operator token, or undefined when it can. */
export function operatorTokenProblem(token: string): string | undefined {
  if (token.length < MIN_OPERATOR_TOKEN_LENGTH) {
    return `the operator token must be at least ${MIN_OPERATOR_TOKEN_LENGTH} characters`;
  }
  if (token.length > MAX_OPERATOR_TOKEN_LENGTH) {
    return `the operator token must be at most ${MAX_OPERATOR_TOKEN_LENGTH} characters`;
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return 'the operator token must be printable ASCII without spaces (it travels in an HTTP header)';
  }
  return undefined;
}

/** An onRequest hook refusing every route but /health without the operator token (401). */
export function operatorTokenAuth(token: string) {
  const problem = operatorTokenProblem(token);
  if (problem !== undefined) throw new FatalError('invalid_request', { message: problem });
  const expected = digest(token);
  return async function checkOperatorToken(request: FastifyRequest): Promise<void> {
    if (request.routeOptions.url === '/health') return;
    const given = bearerToken(
      request.headers.authorization,
      () =>
        new FatalError('invalid_operator_token', {
          message: 'Authorization header must be "Bearer <operator token>"',
        }),
    );
    if (given === undefined) {
      throw new FatalError('missing_operator_token', {
        message: 'No operator token provided: send it as "Authorization: Bearer <operator token>"',
      });
    }
    if (!timingSafeEqual(digest(given), expected)) throw new FatalError('invalid_operator_token');
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
