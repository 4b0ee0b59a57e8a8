import { describe, expect, it } from 'vitest';
import { jobObject, parseJobRequest } from './jobs-api.ts';

describe('jobs API request', () => {
  it('defaults to sync and keeps the input as given', () => {
    const parsed = parseJobRequest({ pod: 'poseidon-prover', input: { x: [1, 2] } });
    expect(parsed).toEqual({
      ok: true,
      value: { pod: 'poseidon-prover', input: { x: [1, 2] }, mode: 'sync' },
    });
  });

  it('takes async mode, retries and a timeout', () => {
    const parsed = parseJobRequest({
      pod: `0x${'a'.repeat(64)}`,
      input: null,
      mode: 'async',
      max_retries: 3,
      timeout_ms: 5000,
    });
    expect(parsed.ok && parsed.value.mode).toBe('async');
  });

  it('refuses bad fields with their path', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ input: 1 }, 'pod'],
      [{ pod: '', input: 1 }, 'pod'],
      [{ pod: 'p' }, 'input'],
      [{ pod: 'p', input: 1, mode: 'later' }, 'mode'],
      [{ pod: 'p', input: 1, max_retries: 11 }, 'max_retries'],
      [{ pod: 'p', input: 1, max_retries: -1 }, 'max_retries'],
      [{ pod: 'p', input: 1, timeout_ms: 0 }, 'timeout_ms'],
      [{ pod: 'p', input: 1, timeout_ms: 3_600_001 }, 'timeout_ms'],
      [{ pod: 'p', input: JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`) }, 'input'],
      // Not dropped: `async: true` would otherwise run the job synchronously without a word.
      [{ pod: 'p', input: 1, async: true }, 'async'],
    ];
    for (const [body, param] of cases) {
      const parsed = parseJobRequest(body);
      expect(!parsed.ok && parsed.error.param, param).toBe(param);
    }
    expect(parseJobRequest('x').ok).toBe(false);
  });
});

describe('job object', () => {
  it('answers in the OpenAI style with amounts as strings', () => {
    expect(
      jobObject({
        id: 'job_x',
        pod: 'p',
        status: 'succeeded',
        createdAt: 1_700_000_000_999,
        attempts: 2,
        output: { ok: true },
        usage: { computeUnits: 10n, price: 10n ** 19n, inputTokens: 0, outputTokens: 0 },
      }),
    ).toEqual({
      id: 'job_x',
      object: 'job',
      pod: 'p',
      status: 'succeeded',
      created: 1_700_000_000,
      attempts: 2,
      output: { ok: true },
      usage: { compute_units: '10', price_wei: '10000000000000000000', input_tokens: 0, output_tokens: 0 },
    });
  });

  it('leaves out what is not known yet', () => {
    const queued = jobObject({ id: 'job_y', pod: 'p', status: 'queued', createdAt: 0, attempts: 0 });
    expect(Object.keys(queued).sort()).toEqual(['attempts', 'created', 'id', 'object', 'pod', 'status']);
    const failed = jobObject({
      id: 'job_y',
      pod: 'p',
      attempts: 3,
      createdAt: 0,
      status: 'failed',
      error: { code: 'retries_exhausted', message: 'x' },
    });
    expect(failed.error?.code).toBe('retries_exhausted');
  });
});
