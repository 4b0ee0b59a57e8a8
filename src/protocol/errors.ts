import {
  ERROR_CODES,
  type ErrorCode,
  type ErrorType,
  type FatalCode,
  isErrorCode,
  type RetryableCode,
} from './error-codes.ts';

export interface NeurinoErrorOptions {
  /** Short, human; defaults to the registry's message for the code. */
  message?: string;
  /** Machine-readable context for logs and the `details` of API answers. Never secrets. */
  details?: Record<string, unknown>;
  /** The request field at fault, as OpenAI's `error.param` (e.g. `messages[0].content`). */
  param?: string;
  /** When trying again may succeed (HTTP `Retry-After`), for an error that says to wait. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * Base of every error the project raises on purpose. The router branches on the subclass
 * (`RetryableError` moves on to the next node, `FatalError` ends the request); gateways map `status`
 * and `type` to HTTP answers.
 */
export abstract class NeurinoError extends Error {
  override name = 'NeurinoError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: ErrorType;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly param: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  abstract readonly retryable: boolean;

  constructor(code: ErrorCode, options: NeurinoErrorOptions = {}) {
    const info = ERROR_CODES[code];
    super(
      options.message ?? info.message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.status = info.status;
    this.type = info.type;
    this.details = options.details;
    this.param = options.param;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** What pino and JSON.stringify print: no stack, no cause chain with possible secrets. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.param === undefined ? {} : { param: this.param }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** Trying again (another node, later) may succeed. */
export class RetryableError extends NeurinoError {
  override name = 'RetryableError';
  readonly retryable = true;
  constructor(code: RetryableCode, options?: NeurinoErrorOptions) {
    super(code, options);
  }
}

/** Final for this request: trying again would fail the same way. */
export class FatalError extends NeurinoError {
  override name = 'FatalError';
  readonly retryable = false;
  constructor(code: FatalCode, options?: NeurinoErrorOptions) {
    super(code, options);
  }
}

/**
 * Builds the right subclass for a code. `retryable` overrides the registry only where a peer said so
 * explicitly (a miner's `job.error`); otherwise leave it out.
 */
export function createError(code: ErrorCode, options: NeurinoErrorOptions & { retryable?: boolean } = {}) {
  const { retryable = ERROR_CODES[code].retryable, ...rest } = options;
  // The cast is the override: the class, not the registry, decides what the router does.
  return retryable
    ? new RetryableError(code as RetryableCode, rest)
    : new FatalError(code as FatalCode, rest);
}

export function isNeurinoError(value: unknown): value is NeurinoError {
  return value instanceof NeurinoError;
}

export function isRetryable(value: unknown): boolean {
  return value instanceof NeurinoError && value.retryable;
}

/** Anything thrown becomes a NeurinoError; unknown errors become `internal_error` and keep the original as cause. */
export function asNeurinoError(value: unknown): NeurinoError {
  if (value instanceof NeurinoError) return value;
  return new FatalError('internal_error', { cause: value });
}

/** A code from a peer (miner `job.error`, remote API); unknown codes are treated as a failed node. */
export function errorFromPeer(
  code: string,
  message: string,
  retryable: boolean,
  extra: { param?: string | undefined; retryAfterMs?: number | undefined } = {},
): NeurinoError {
  const options = {
    message,
    retryable,
    ...(extra.param === undefined ? {} : { param: extra.param }),
    ...(extra.retryAfterMs === undefined ? {} : { retryAfterSeconds: extra.retryAfterMs / 1000 }),
  };
  if (isErrorCode(code)) return createError(code, options);
  return createError('node_failed', { ...options, details: { peerCode: code } });
}

export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType; code: ErrorCode; param: string | null };
}

/**
 * The body OpenAI clients expect. Errors we did not raise on purpose answer with the generic
 * `internal_error` message so internals never leak to callers.
 */
export function toOpenAIError(value: unknown): OpenAIErrorBody {
  const error = asNeurinoError(value);
  return {
    error: { message: error.message, type: error.type, code: error.code, param: error.param ?? null },
  };
}
