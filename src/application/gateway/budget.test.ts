import { describe, expect, it } from 'vitest';
import { MAX_JOB_RETRIES, MAX_JOB_TIMEOUT_MS } from '../../protocol/jobs-api.ts';
import { budgetFromBody, budgetFromHeaders, checkBudgetDefaults, DEFAULT_BUDGET } from './budget.ts';

describe('budgetFromHeaders', () => {
  it('takes the defaults when no header is sent', () => {
    expect(budgetFromHeaders({})).toEqual(DEFAULT_BUDGET);
    expect(budgetFromHeaders({}, { maxRetries: 0, timeoutMs: 5 })).toEqual({ maxRetries: 0, timeoutMs: 5 });
  });

  it('reads both headers, bounds included', () => {
    expect(budgetFromHeaders({ 'x-neurino-max-retries': '0', 'x-neurino-timeout-ms': '1' })).toEqual({
      maxRetries: 0,
      timeoutMs: 1,
    });
    const max = {
      'x-neurino-max-retries': String(MAX_JOB_RETRIES),
      'x-neurino-timeout-ms': ` ${MAX_JOB_TIMEOUT_MS} `,
    };
    expect(budgetFromHeaders(max)).toEqual({ maxRetries: MAX_JOB_RETRIES, timeoutMs: MAX_JOB_TIMEOUT_MS });
  });

  it.each([
    ['x-neurino-timeout-ms', '0'],
    ['x-neurino-timeout-ms', String(MAX_JOB_TIMEOUT_MS + 1)],
    ['x-neurino-timeout-ms', '1e3'],
    ['x-neurino-timeout-ms', '0x10'],
    ['x-neurino-timeout-ms', '99999999999999999999'],
    ['x-neurino-max-retries', String(MAX_JOB_RETRIES + 1)],
    ['x-neurino-max-retries', '-1'],
    ['x-neurino-max-retries', 'two'],
    ['x-neurino-max-retries', ''],
  ])('refuses %s: %j with invalid_request naming the header', (name, value) => {
    expect(() => budgetFromHeaders({ [name]: value })).toThrow(
      expect.objectContaining({ code: 'invalid_request', status: 400, param: name }),
    );
  });

  it('refuses a header sent twice', () => {
    expect(() => budgetFromHeaders({ 'x-neurino-max-retries': ['1', '2'] })).toThrow(
      expect.objectContaining({ code: 'invalid_request', param: 'x-neurino-max-retries' }),
    );
  });
});

describe('budgetFromBody', () => {
  it('uses the fields given and the defaults for the others', () => {
    expect(budgetFromBody({ max_retries: 4 })).toEqual({
      maxRetries: 4,
      timeoutMs: DEFAULT_BUDGET.timeoutMs,
    });
    expect(budgetFromBody({ timeout_ms: 9 })).toEqual({
      maxRetries: DEFAULT_BUDGET.maxRetries,
      timeoutMs: 9,
    });
  });
});

describe('checkBudgetDefaults', () => {
  it('accepts sane defaults and refuses out-of-range ones', () => {
    expect(checkBudgetDefaults({ maxRetries: 1, timeoutMs: 1000 })).toEqual({
      maxRetries: 1,
      timeoutMs: 1000,
    });
    for (const bad of [
      { maxRetries: -1, timeoutMs: 1000 },
      { maxRetries: 1.5, timeoutMs: 1000 },
      { maxRetries: 1, timeoutMs: 0 },
      { maxRetries: 1, timeoutMs: MAX_JOB_TIMEOUT_MS + 1 },
    ]) {
      expect(() => checkBudgetDefaults(bad)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
  });
});
