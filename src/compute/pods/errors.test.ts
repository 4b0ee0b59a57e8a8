import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { isRetryable, NeurinoError } from '../../protocol/errors.ts';
import {
  abortError,
  asPodError,
  POD_ERROR_CODES,
  PodAbortedError,
  PodBadRequestError,
  PodFailedError,
  PodLoadFailedError,
  PodNotLoadedError,
  PodUnsupportedError,
  PodUpstreamError,
  throwIfAborted,
} from './errors.ts';

describe('pod errors', () => {
  it('map every pod code onto a code of the project registry', () => {
    for (const [podCode, info] of Object.entries(POD_ERROR_CODES)) {
      expect(Object.hasOwn(ERROR_CODES, info.protocolCode), podCode).toBe(true);
    }
  });

  it('carry stable codes and retryable flags, and are NeurinoErrors the router understands', () => {
    const cases = [
      [new PodLoadFailedError('x'), 'pod_load_failed', 'pod_load_failed', true],
      [new PodNotLoadedError(), 'pod_not_loaded', 'node_failed', true],
      [new PodBadRequestError('x'), 'pod_bad_request', 'invalid_request', false],
      [new PodUnsupportedError('x'), 'pod_unsupported', 'unsupported_parameter', false],
      [new PodUpstreamError('x'), 'pod_upstream_error', 'node_failed', true],
      [new PodFailedError('x'), 'pod_failed', 'node_failed', true],
      [new PodAbortedError(), 'pod_aborted', 'job_cancelled', false],
    ] as const;
    for (const [error, podCode, code, retryable] of cases) {
      expect(error).toBeInstanceOf(NeurinoError);
      expect(error).toMatchObject({ podCode, code, retryable });
      expect(isRetryable(error)).toBe(retryable);
      expect(error.toJSON()).toMatchObject({ code, retryable, details: { podCode } });
    }
  });

  it('let an upstream error be final and keep its HTTP status', () => {
    const error = new PodUpstreamError('not found', { upstreamStatus: 404, retryable: false });
    expect(error).toMatchObject({ retryable: false, upstreamStatus: 404, details: { upstreamStatus: 404 } });
  });

  it('turn a fired signal into its PodError reason, or PodAbortedError', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    expect(() => throwIfAborted(AbortSignal.abort())).toThrow(PodAbortedError);
    const reason = new PodNotLoadedError('unloading');
    expect(abortError(AbortSignal.abort(reason))).toBe(reason);
  });

  it('wrap foreign failures as retryable PodFailedError and pass PodErrors through', () => {
    const bad = new PodBadRequestError('x');
    expect(asPodError(bad, 'ctx')).toBe(bad);
    const wrapped = asPodError(new Error('decode failed'), 'Generation failed');
    expect(wrapped).toBeInstanceOf(PodFailedError);
    expect(wrapped.message).toBe('Generation failed: decode failed');
    expect(wrapped.retryable).toBe(true);
    expect(asPodError('odd', 'ctx').message).toBe('ctx: odd');
  });
});
