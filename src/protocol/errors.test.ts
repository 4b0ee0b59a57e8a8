import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_ERROR_CODES, ERROR_CODES, HANDSHAKE_REFUSAL_CODES, isErrorCode } from './error-codes.ts';
import {
  asNeurinoError,
  createError,
  errorFromPeer,
  FatalError,
  isNeurinoError,
  isRetryable,
  NeurinoError,
  RetryableError,
  toOpenAIError,
} from './errors.ts';

const ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'insufficient_quota',
  'not_found_error',
  'rate_limit_error',
  'timeout_error',
  'server_error',
  'protocol_error',
];

describe('error code registry', () => {
  it('documents every code with a status, type, message and retryable flag', () => {
    for (const code of ALL_ERROR_CODES) {
      const info = ERROR_CODES[code];
      expect(code, code).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(Number.isInteger(info.status) && info.status >= 400 && info.status <= 599, code).toBe(true);
      expect(ERROR_TYPES, code).toContain(info.type);
      expect(info.message.length, code).toBeGreaterThan(3);
      expect(info.message.length, code).toBeLessThan(80);
      expect(typeof info.retryable, code).toBe('boolean');
    }
  });

  it('defines each code once in the source (an object literal would silently keep the last)', () => {
    const source = readFileSync(new URL('./error-codes.ts', import.meta.url), 'utf8');
    const defined = [...source.matchAll(/^ {2}([a-z][a-z0-9_]*): \{/gm)].map((m) => m[1]);
    expect(defined.length).toBe(ALL_ERROR_CODES.length);
    expect(new Set(defined).size).toBe(defined.length);
  });

  it('has the codes the rest of the project relies on', () => {
    const required = {
      invalid_request: 400,
      missing_api_key: 401,
      invalid_api_key: 401,
      insufficient_credits: 402,
      model_not_found: 404,
      job_not_found: 404,
      no_capacity: 503,
      no_node_available: 503,
      deadline_exceeded: 504,
      rate_limited: 429,
      internal_error: 500,
    } as const;
    for (const [code, status] of Object.entries(required)) {
      expect(isErrorCode(code), code).toBe(true);
      expect(ERROR_CODES[code as keyof typeof required].status, code).toBe(status);
    }
    for (const code of [
      'node_failed',
      'node_timeout',
      'no_capacity',
      'no_node_available',
      'rate_limited',
    ] as const) {
      expect(ERROR_CODES[code].retryable, code).toBe(true);
    }
    for (const code of [
      'protocol_error',
      'schema_violation',
      'unsupported_version',
      'deadline_exceeded',
    ] as const) {
      expect(ERROR_CODES[code].retryable, code).toBe(false);
    }
    for (const reason of [
      'node_not_registered',
      'node_not_staked',
      'node_jailed',
      'bad_signature',
      'challenge_expired',
    ]) {
      expect(HANDSHAKE_REFUSAL_CODES).toContain(reason);
    }
  });

  it('isErrorCode refuses non-codes, including inherited object keys', () => {
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('__proto__')).toBe(false);
    expect(isErrorCode('')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });
});

describe('NeurinoError', () => {
  it('createError picks the class from the registry', () => {
    const retry = createError('node_timeout');
    expect(retry).toBeInstanceOf(RetryableError);
    expect(retry).toBeInstanceOf(NeurinoError);
    expect(retry).toBeInstanceOf(Error);
    expect(retry.retryable).toBe(true);
    expect(retry.status).toBe(504);
    expect(retry.message).toBe('Node did not answer in time');

    const fatal = createError('invalid_api_key');
    expect(fatal).toBeInstanceOf(FatalError);
    expect(fatal.retryable).toBe(false);
    expect(fatal.type).toBe('authentication_error');
  });

  it('every code builds an error of the class its flag says', () => {
    for (const code of ALL_ERROR_CODES) {
      const error = createError(code);
      expect(error.code).toBe(code);
      expect(error instanceof RetryableError, code).toBe(ERROR_CODES[code].retryable);
      expect(error instanceof FatalError, code).toBe(!ERROR_CODES[code].retryable);
    }
  });

  it('an explicit retryable flag overrides the registry', () => {
    expect(createError('node_failed', { retryable: false })).toBeInstanceOf(FatalError);
    expect(createError('internal_error', { retryable: true })).toBeInstanceOf(RetryableError);
  });

  it('keeps message, param, details and cause', () => {
    const cause = new Error('socket hang up');
    const error = new FatalError('invalid_request', {
      message: 'messages: required',
      param: 'messages',
      details: { issues: 1 },
      cause,
    });
    expect(error.message).toBe('messages: required');
    expect(error.param).toBe('messages');
    expect(error.details).toEqual({ issues: 1 });
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('FatalError');
  });

  it('serialises to JSON without stack or cause', () => {
    const error = new RetryableError('node_failed', {
      cause: new Error('secret=abc'),
      details: { node: '0x1' },
    });
    const json = JSON.parse(JSON.stringify(error));
    expect(json).toEqual({
      name: 'RetryableError',
      code: 'node_failed',
      message: 'Node failed to run the job',
      retryable: true,
      details: { node: '0x1' },
    });
  });

  it('isNeurinoError and isRetryable tell errors apart', () => {
    expect(isNeurinoError(createError('job_not_found'))).toBe(true);
    expect(isNeurinoError(new Error('x'))).toBe(false);
    expect(isNeurinoError({ code: 'job_not_found' })).toBe(false);
    expect(isRetryable(createError('no_capacity'))).toBe(true);
    expect(isRetryable(createError('job_not_found'))).toBe(false);
    expect(isRetryable(new Error('x'))).toBe(false);
    expect(isRetryable(null)).toBe(false);
  });

  it('asNeurinoError wraps anything else as internal_error with the original as cause', () => {
    const original = new TypeError('boom');
    const wrapped = asNeurinoError(original);
    expect(wrapped.code).toBe('internal_error');
    expect(wrapped.cause).toBe(original);
    const same = createError('no_capacity');
    expect(asNeurinoError(same)).toBe(same);
    expect(asNeurinoError('a string').code).toBe('internal_error');
    expect(asNeurinoError(undefined).code).toBe('internal_error');
  });

  it('errorFromPeer maps known codes and treats unknown ones as a failed node', () => {
    const known = errorFromPeer('invalid_request', 'prompt too long', false);
    expect(known.code).toBe('invalid_request');
    expect(known.message).toBe('prompt too long');
    const unknown = errorFromPeer('gpu_on_fire', 'smoke', true);
    expect(unknown.code).toBe('node_failed');
    expect(unknown.retryable).toBe(true);
    expect(unknown.details).toEqual({ peerCode: 'gpu_on_fire' });
    expect(errorFromPeer('__proto__', 'x', false).code).toBe('node_failed');
    expect(errorFromPeer('unsupported_parameter', 'tools: no', false, { param: 'tools' }).param).toBe(
      'tools',
    );
    expect(errorFromPeer('gpu_on_fire', 'smoke', true, { param: 'input' }).param).toBe('input');
    expect(errorFromPeer('invalid_request', 'x', false).param).toBeUndefined();
    expect(errorFromPeer('rate_limited', 'busy', true, { retryAfterMs: 2500 }).retryAfterSeconds).toBe(2.5);
    expect(errorFromPeer('rate_limited', 'busy', true).retryAfterSeconds).toBeUndefined();
  });
});

describe('toOpenAIError', () => {
  it('gives OpenAI’s error body', () => {
    const body = toOpenAIError(
      createError('unsupported_parameter', { message: 'n: only n=1 is supported', param: 'n' }),
    );
    expect(body).toEqual({
      error: {
        message: 'n: only n=1 is supported',
        type: 'invalid_request_error',
        code: 'unsupported_parameter',
        param: 'n',
      },
    });
  });

  it('uses null for a missing param', () => {
    expect(toOpenAIError(createError('insufficient_credits')).error).toEqual({
      message: 'Insufficient compute credits',
      type: 'insufficient_quota',
      code: 'insufficient_credits',
      param: null,
    });
  });

  it('never leaks the message of an unexpected error', () => {
    const body = toOpenAIError(new Error('password=hunter2 at db:5432'));
    expect(body.error.message).toBe('Internal error');
    expect(body.error.code).toBe('internal_error');
    expect(JSON.stringify(body)).not.toContain('hunter2');
  });
});
