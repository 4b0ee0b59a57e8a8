import { describe, expect, it } from 'vitest';
import { createError } from '../../protocol/errors.ts';
import { classifyFailure, suspensionMs } from './attempt-failure.ts';

describe('attempt failures', () => {
  it('tells the end of a job, refusals, busy nodes, missing pods and node faults apart', () => {
    const kind = (code: Parameters<typeof createError>[0], retryable?: boolean) =>
      classifyFailure(createError(code, retryable === undefined ? {} : { retryable }));
    expect(kind('invalid_request')).toBe('refused');
    expect(kind('unsupported_parameter')).toBe('refused');
    expect(kind('deadline_exceeded')).toBe('final');
    expect(kind('job_cancelled')).toBe('final');
    // The router's own refusal to send a job past the frame limit (a node's is taken as node_failed).
    expect(kind('payload_too_large')).toBe('final');
    expect(kind('no_capacity')).toBe('busy');
    expect(kind('node_draining')).toBe('busy');
    expect(kind('pod_not_found')).toBe('cannot-load');
    expect(kind('pod_load_failed')).toBe('cannot-load');
    expect(kind('node_disconnected')).toBe('node-fault');
    expect(kind('bad_result')).toBe('node-fault');
    expect(kind('internal_error')).toBe('node-fault');
    // A peer may mark a refusal retryable: it is then the node's failure.
    expect(kind('unsupported_parameter', true)).toBe('node-fault');
    // Whatever else a node says, and whatever retryable flag it sends, is its own failure.
    expect(kind('node_failed', false)).toBe('node-fault');
    expect(kind('schema_violation')).toBe('node-fault');
    expect(kind('insufficient_credits')).toBe('node-fault');
  });

  it('doubles the suspension on each failure in a row, up to the cap', () => {
    expect([1, 2, 3, 4, 10, 100].map((n) => suspensionMs(n, 30_000, 600_000))).toEqual([
      30_000, 60_000, 120_000, 240_000, 600_000, 600_000,
    ]);
    expect(suspensionMs(0, 5, 100)).toBe(5);
  });
});
