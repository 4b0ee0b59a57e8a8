// The caller's budget for one request: how many retries on other nodes and how long in total.
// OpenAI routes read headers, the jobs API body fields; both are capped by the same bounds.
import { FatalError } from '../../protocol/errors.ts';
import { MAX_JOB_RETRIES, MAX_JOB_TIMEOUT_MS } from '../../protocol/jobs-api.ts';

export const MAX_RETRIES_HEADER = 'x-neurino-max-retries';
export const TIMEOUT_MS_HEADER = 'x-neurino-timeout-ms';

export interface JobBudget {
  maxRetries: number;
  timeoutMs: number;
}

export interface BudgetDefaults {
  maxRetries: number;
  timeoutMs: number;
}

export const DEFAULT_BUDGET: BudgetDefaults = { maxRetries: 2, timeoutMs: 60_000 };

type Headers = Record<string, string | string[] | undefined>;

export function budgetFromHeaders(headers: Headers, defaults: BudgetDefaults = DEFAULT_BUDGET): JobBudget {
  return {
    maxRetries: headerInt(headers, MAX_RETRIES_HEADER, 0, MAX_JOB_RETRIES) ?? defaults.maxRetries,
    timeoutMs: headerInt(headers, TIMEOUT_MS_HEADER, 1, MAX_JOB_TIMEOUT_MS) ?? defaults.timeoutMs,
  };
}

/** Body fields were already range-checked by the jobs schema; absent ones take the defaults. */
export function budgetFromBody(
  body: { max_retries?: number | undefined; timeout_ms?: number | undefined },
  defaults: BudgetDefaults = DEFAULT_BUDGET,
): JobBudget {
  return {
    maxRetries: body.max_retries ?? defaults.maxRetries,
    timeoutMs: body.timeout_ms ?? defaults.timeoutMs,
  };
}

/** Checks configured defaults once, when the gateway is built. */
export function checkBudgetDefaults(defaults: BudgetDefaults): BudgetDefaults {
  const ok =
    Number.isInteger(defaults.maxRetries) &&
    defaults.maxRetries >= 0 &&
    defaults.maxRetries <= MAX_JOB_RETRIES &&
    Number.isInteger(defaults.timeoutMs) &&
    defaults.timeoutMs >= 1 &&
    defaults.timeoutMs <= MAX_JOB_TIMEOUT_MS;
  if (!ok) {
    throw new FatalError('invalid_request', {
      message: `budget defaults out of range: maxRetries 0-${MAX_JOB_RETRIES}, timeoutMs 1-${MAX_JOB_TIMEOUT_MS}`,
      details: { ...defaults },
    });
  }
  return defaults;
}

function headerInt(headers: Headers, name: string, min: number, max: number): number | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const invalid = (why: string) =>
    new FatalError('invalid_request', { message: `header ${name}: ${why}`, param: name });
  if (Array.isArray(raw)) throw invalid('given more than once');
  const text = raw.trim();
  if (!/^\d{1,10}$/.test(text)) throw invalid(`expected an integer ${min}-${max}`);
  const value = Number(text);
  if (value < min || value > max) throw invalid(`expected an integer ${min}-${max}, got ${value}`);
  return value;
}
