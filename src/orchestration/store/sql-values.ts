// Reading column values back: numeric arrives as text, int8 as number (PGlite, when safe) or text (pg).
import { FatalError } from '../../protocol/errors.ts';

export function bigintOf(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new FatalError('internal_error', {
    message: 'expected an integer column',
    details: { value: String(value) },
  });
}

export function numberOf(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(bigintOf(value));
  if (!Number.isSafeInteger(n)) {
    throw new FatalError('internal_error', {
      message: 'integer column exceeds 2^53',
      details: { value: String(value) },
    });
  }
  return n;
}

export function optionalNumberOf(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : numberOf(value);
}

export function optionalStringOf(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

/** SQLSTATE 23505: the row would duplicate a unique key (both drivers expose `code`). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/**
 * True for errors about the data of a statement (SQLSTATE class 22 data exception, 23 integrity
 * constraint violation): the same statement would fail again. Anything else (a connection lost, a
 * missing table, a full disk, a serialization failure) may pass later.
 */
export function isDataError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** A text[] parameter's literal: every element quoted, quotes and backslashes escaped (`$n::text[]`). */
export function textArrayOf(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

/**
 * Free text for a text column (an error message quoting a caller's input or a node's words): PostgreSQL's
 * text cannot hold U+0000 nor half of a surrogate pair, which are kept visible as U+FFFD instead of
 * failing the row.
 */
export function storableText(text: string): string;
export function storableText(text: string | undefined): string | undefined;
export function storableText(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const whole = text.isWellFormed() ? text : text.toWellFormed();
  return whole.includes('\u0000') ? whole.replaceAll('\u0000', '\uFFFD') : whole;
}
