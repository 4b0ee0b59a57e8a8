import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorFromZod, formatPath, parseWith } from './schema-errors.ts';

describe('formatPath', () => {
  it('writes paths the way OpenAI names params', () => {
    expect(formatPath(['messages', 0, 'content'])).toBe('messages[0].content');
    expect(formatPath([0, 'a'])).toBe('[0].a');
    expect(formatPath(['weird key', 'x-y'])).toBe('["weird key"]["x-y"]');
    expect(formatPath([])).toBe('');
    expect(formatPath([Symbol('s')])).toBe('["Symbol(s)"]');
  });
});

describe('errorFromZod', () => {
  const Schema = z.object({
    items: z.array(z.union([z.string(), z.object({ n: z.int() })])),
    n: z
      .int()
      .optional()
      .refine((v) => v === undefined || v === 1, {
        message: 'only 1',
        params: { code: 'unsupported_parameter' },
      }),
    bogus: z
      .string()
      .optional()
      .refine((v) => v === undefined, { message: 'never', params: { code: 'not_a_code' } }),
  });

  it('names the first failing field and keeps the others in details', () => {
    const parsed = Schema.safeParse({ items: 5, n: 'x' });
    const error = errorFromZod(parsed.error as z.ZodError);
    expect(error.code).toBe('invalid_request');
    expect(error.param).toBe('items');
    expect(error.message).toMatch(/^items: /);
    expect(error.details?.issues).toHaveLength(2);
  });

  it('descends into unions to the field that failed', () => {
    const parsed = Schema.safeParse({ items: ['a', { n: 'x' }] });
    const error = errorFromZod(parsed.error as z.ZodError);
    expect(error.param).toBe('items[1].n');
  });

  it('uses the code a refinement asks for, ignoring unknown codes', () => {
    const wanted = errorFromZod(Schema.safeParse({ items: [], n: 2 }).error as z.ZodError);
    expect(wanted.code).toBe('unsupported_parameter');
    expect(wanted.message).toBe('n: only 1');
    const unknown = errorFromZod(Schema.safeParse({ items: [], bogus: 'x' }).error as z.ZodError);
    expect(unknown.code).toBe('invalid_request');
  });

  it('says a field left out is required, and what was wrong with one given', () => {
    const Named = z.object({ pod: z.string(), messages: z.array(z.string()) });
    const missing = errorFromZod(Named.safeParse({ messages: [] }).error as z.ZodError);
    expect(missing.message).toBe('pod: required (expected string)');
    expect(missing.param).toBe('pod');
    const nested = errorFromZod(Schema.safeParse({ items: [{}] }).error as z.ZodError);
    expect(nested.message).toBe('items[0].n: required (expected number)');
    const wrong = errorFromZod(Named.safeParse({ pod: null, messages: [] }).error as z.ZodError);
    expect(wrong.message).toBe('pod: Invalid input: expected string, received null');
  });

  it('names an unknown field of a strict object as the param, and any others in the message', () => {
    const Strict = z.object({ spec: z.strictObject({ pod: z.string() }) });
    const one = errorFromZod(Strict.safeParse({ spec: { pod: 'p', async: true } }).error as z.ZodError);
    expect(one).toMatchObject({ param: 'spec.async', message: 'spec.async: unknown field' });
    const two = errorFromZod(Strict.safeParse({ spec: { pod: 'p', a: 1, b: 2 } }).error as z.ZodError);
    expect(two).toMatchObject({ param: 'spec.a', message: 'spec.a: unknown field (also: b)' });
  });

  it('uses the caller’s default code', () => {
    const error = errorFromZod(Schema.safeParse(null).error as z.ZodError, 'schema_violation');
    expect(error.code).toBe('schema_violation');
    expect(error.param).toBeUndefined();
  });
});

describe('parseWith', () => {
  it('returns the value or the error, never throws', () => {
    expect(parseWith(z.int(), 3)).toEqual({ ok: true, value: 3 });
    const failed = parseWith(z.int(), 'x');
    expect(failed.ok).toBe(false);
  });
});
