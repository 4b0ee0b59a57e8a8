import { describe, expect, it } from 'vitest';
import { retryAfterSeconds } from './retry-after.ts';

describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-11-28T09:00:00Z');

  it('reads whole seconds, and a date as the seconds until it', () => {
    expect(retryAfterSeconds({ 'retry-after': '7' }, now)).toBe(7);
    expect(retryAfterSeconds({ 'retry-after': ' 0 ' }, now)).toBe(0);
    expect(retryAfterSeconds({ 'retry-after': 'Sat, 28 Nov 2026 09:00:30 GMT' }, now)).toBe(30);
    // A date gone by: no wait.
    expect(retryAfterSeconds({ 'retry-after': 'Sat, 28 Nov 2026 08:00:00 GMT' }, now)).toBe(0);
  });

  it('prefers retry-after-ms, as OpenAI sends it, and takes the first of repeated headers', () => {
    expect(retryAfterSeconds({ 'retry-after-ms': '1500', 'retry-after': '2' }, now)).toBe(1.5);
    expect(retryAfterSeconds({ 'retry-after-ms': '20.5' }, now)).toBe(0.0205);
    expect(retryAfterSeconds({ 'retry-after': ['3', '9'] }, now)).toBe(3);
  });

  it('ignores what it cannot read', () => {
    expect(retryAfterSeconds({}, now)).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after': '' }, now)).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after': '-5' }, now)).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after': '1.5' }, now)).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after': 'soon' }, now)).toBeUndefined();
    // A malformed retry-after-ms falls back to retry-after.
    expect(retryAfterSeconds({ 'retry-after-ms': 'x', 'retry-after': '4' }, now)).toBe(4);
  });
});
