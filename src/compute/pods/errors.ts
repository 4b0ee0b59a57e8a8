import type { ErrorCode } from '../../protocol/error-codes.ts';
import { NeurinoError, type NeurinoErrorOptions } from '../../protocol/errors.ts';

/**
 * What went wrong inside a pod runtime. Each pod code maps onto a code of the project's registry
 * (`code`, what the miner reports to the router); `podCode` keeps the runtime's finer reason.
 */
export const POD_ERROR_CODES = {
  /** The model or upstream could not be brought up (missing file, bad GGUF, upstream unreachable). */
  pod_load_failed: { protocolCode: 'pod_load_failed', retryable: true },
  /** A job arrived while the runtime was not loaded, or it was unloaded under the job. */
  pod_not_loaded: { protocolCode: 'node_failed', retryable: true },
  /** The request is invalid for this runtime (schema, prompt longer than the context). */
  pod_bad_request: { protocolCode: 'invalid_request', retryable: false },
  /** The runtime cannot do this at all (e.g. an upstream without embeddings). */
  pod_unsupported: { protocolCode: 'unsupported_parameter', retryable: false },
  /** The OpenAI-compatible upstream failed; retryable for 5xx, 408, network errors and timeouts. */
  pod_upstream_error: { protocolCode: 'node_failed', retryable: true },
  /** The upstream is at capacity (429, as TGI's "Model is overloaded"; 503): the node is busy, not broken. */
  pod_upstream_busy: { protocolCode: 'rate_limited', retryable: true },
  /** The runtime itself failed while running the job (an engine error): another node may do better. */
  pod_failed: { protocolCode: 'node_failed', retryable: true },
  /** The caller's AbortSignal fired: the job was stopped and its slot freed. */
  pod_aborted: { protocolCode: 'job_cancelled', retryable: false },
} as const satisfies Record<string, { protocolCode: ErrorCode; retryable: boolean }>;

export type PodErrorCode = keyof typeof POD_ERROR_CODES;

export interface PodErrorOptions extends NeurinoErrorOptions {
  /** Overrides the code's default (upstream errors are retryable or not by HTTP status). */
  retryable?: boolean;
}

export class PodError extends NeurinoError {
  override name = 'PodError';
  readonly podCode: PodErrorCode;
  readonly retryable: boolean;

  constructor(podCode: PodErrorCode, message: string, options: PodErrorOptions = {}) {
    const { retryable, details, ...rest } = options;
    const info = POD_ERROR_CODES[podCode];
    super(info.protocolCode, { ...rest, message, details: { podCode, ...details } });
    this.podCode = podCode;
    this.retryable = retryable ?? info.retryable;
  }
}

export class PodLoadFailedError extends PodError {
  override name = 'PodLoadFailedError';
  constructor(message: string, options?: PodErrorOptions) {
    super('pod_load_failed', message, options);
  }
}

export class PodNotLoadedError extends PodError {
  override name = 'PodNotLoadedError';
  constructor(message = 'Pod runtime is not loaded', options?: PodErrorOptions) {
    super('pod_not_loaded', message, options);
  }
}

export class PodBadRequestError extends PodError {
  override name = 'PodBadRequestError';
  constructor(message: string, options?: PodErrorOptions) {
    super('pod_bad_request', message, options);
  }
}

export class PodUnsupportedError extends PodError {
  override name = 'PodUnsupportedError';
  constructor(message: string, options?: PodErrorOptions) {
    super('pod_unsupported', message, options);
  }
}

/**
 * The upstream answered 429 or 503: it takes no more requests now (its queue or its rate limit is full,
 * or it is loading); `retryAfterSeconds` is the wait it asked for, when it did.
 */
export class PodUpstreamBusyError extends PodError {
  override name = 'PodUpstreamBusyError';
  constructor(message: string, options?: PodErrorOptions) {
    super('pod_upstream_busy', message, options);
  }
}

export class PodUpstreamError extends PodError {
  override name = 'PodUpstreamError';
  /** HTTP status of the upstream answer; undefined for network errors and timeouts. */
  readonly upstreamStatus: number | undefined;
  /** No connection could be made (refused, no route, unknown host): the server is not there. */
  readonly unreachable: boolean;
  constructor(
    message: string,
    options: PodErrorOptions & { upstreamStatus?: number; unreachable?: boolean } = {},
  ) {
    const { upstreamStatus, unreachable, ...rest } = options;
    super('pod_upstream_error', message, {
      ...rest,
      details: { ...rest.details, ...(upstreamStatus === undefined ? {} : { upstreamStatus }) },
    });
    this.upstreamStatus = upstreamStatus;
    this.unreachable = unreachable ?? false;
  }
}

/** The pod's server is not there (its connections refused): the pod is unusable until it returns. */
export function isServerGone(error: unknown): boolean {
  return error instanceof PodUpstreamError && error.unreachable;
}

export class PodFailedError extends PodError {
  override name = 'PodFailedError';
  constructor(message: string, options?: PodErrorOptions) {
    super('pod_failed', message, options);
  }
}

/**
 * What a generation had produced when it was stopped: the text it streamed, the tokens behind it when the
 * runtime samples them itself (llama-cpp), and the tokens counted.
 */
export interface PartialGeneration {
  readonly text: string;
  readonly completionTokenIds?: readonly number[];
  readonly usage: {
    readonly promptTokens: number;
    readonly completionTokens: number;
    /** Of `promptTokens`, those the slot held from an earlier job. */
    readonly cachedPromptTokens?: number;
  };
  /** Messages left out of the prompt to fit the context (truncation 'auto'). */
  readonly truncatedMessages?: number;
}

export class PodAbortedError extends PodError {
  override name = 'PodAbortedError';
  /** Set by runtimes that stop where they are (stoppedWith): the work done, which a caller may pay for. */
  readonly partial: PartialGeneration | undefined;
  constructor(message = 'Job aborted', options: PodErrorOptions & { partial?: PartialGeneration } = {}) {
    const { partial, ...rest } = options;
    super('pod_aborted', message, rest);
    this.partial = partial;
  }
}

export function isPodError(value: unknown): value is PodError {
  return value instanceof PodError;
}

/**
 * Throws when the signal has fired: its reason when that is a PodError (a runtime aborting its own jobs
 * says why), PodAbortedError otherwise. Call between units of work.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** The error a fired signal stands for (see throwIfAborted). */
export function abortError(signal: AbortSignal): PodError {
  if (signal.reason instanceof PodError) return signal.reason;
  return new PodAbortedError('Job aborted', { cause: signal.reason });
}

/**
 * The abort of a generation as it reaches the caller, with what it had produced: `partial.text` is exactly
 * what went out through `onDelta`. Any other PodError the signal carries (an unload) stays as it is.
 */
export function stoppedWith(signal: AbortSignal, partial: PartialGeneration): PodError {
  const reason: unknown = signal.reason;
  if (reason instanceof PodError && !(reason instanceof PodAbortedError)) return reason;
  // The caller's abort arrives as a PodAbortedError (JobTracker) whose cause is the caller's reason.
  const cause = reason instanceof PodAbortedError ? reason.cause : reason;
  return new PodAbortedError('Job aborted', { cause, partial });
}

/** Any failure as a PodError: PodErrors pass through, anything else becomes PodFailedError. */
export function asPodError(error: unknown, context: string): PodError {
  if (error instanceof PodError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new PodFailedError(`${context}: ${reason}`, { cause: error });
}
