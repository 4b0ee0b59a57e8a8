import type { z } from 'zod';
import type { ErrorCode } from './error-codes.ts';
import { isErrorCode } from './error-codes.ts';
import { createError, type NeurinoError } from './errors.ts';

export type Result<T> = { ok: true; value: T } | { ok: false; error: NeurinoError };

/** `messages[0].content`: the JavaScript-ish path OpenAI uses in `error.param`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

interface Located {
  path: PropertyKey[];
  message: string;
  code: ErrorCode | undefined;
}

/**
 * The most telling issue: unions report "Invalid input" at their root, so descend into the branch
 * that got furthest (longest path, then furthest into a list) to name the real field.
 */
function locate(issue: z.core.$ZodIssue, base: PropertyKey[] = []): Located {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Branches of the value's own kind first: those whose type fails at the value or its elements (a
    // string against a list, strings against a list of numbers) are another kind of value.
    const misses = issue.errors.map((branch) => branch.filter(isKindMiss).length);
    const fewest = Math.min(...misses);
    let best: Located | undefined;
    for (const [index, branch] of issue.errors.entries()) {
      if (misses[index] !== fewest) continue;
      // A branch's first deepest issue; of the branches, the deepest, then the one that read furthest
      // into a list before failing (`[1, "a"]` is a list of ids wrong at [1], not of strings at [0]).
      let own: Located | undefined;
      for (const inner of branch) {
        const found = locate(inner, path);
        if (own === undefined || found.path.length > own.path.length) own = found;
      }
      if (own !== undefined && (best === undefined || further(own.path, best.path))) best = own;
    }
    if (best !== undefined && best.path.length > path.length) return best;
  }
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) {
    const others = issue.keys.length > 1 ? ` (also: ${issue.keys.slice(1).join(', ')})` : '';
    // A schema's own message (which fields it has, say) rather than zod's default.
    const hint = issue.message.startsWith('Unrecognized key') ? '' : `; ${issue.message}`;
    return { path: [...path, issue.keys[0]], message: `unknown field${others}${hint}`, code: undefined };
  }
  const params = issue.code === 'custom' ? (issue.params as Record<string, unknown> | undefined) : undefined;
  const code = isErrorCode(params?.code) ? params.code : undefined;
  return { path, message: missing(issue) ? `required (expected ${issue.expected})` : issue.message, code };
}

/** Whether `a` names a place deeper than `b`, or as deep and further on in a list. */
function further(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  if (a.length !== b.length) return a.length > b.length;
  for (const [i, key] of a.entries()) {
    const other = b[i];
    if (typeof key === 'number' && typeof other === 'number' && key !== other) return key > other;
  }
  return false;
}

/** A type that fails at a union branch's value or its direct elements. */
function isKindMiss(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_type' && issue.path.length <= 1;
}

/** A field left out: parsed JSON has no undefined, so "received undefined" can only mean that. */
function missing(issue: z.core.$ZodIssue): issue is z.core.$ZodIssueInvalidType {
  return issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
}

/**
 * A zod failure as a NeurinoError naming the failing field. A refinement may pick its own code with
 * `params: { code: 'unsupported_parameter' }`.
 */
export function errorFromZod(error: z.ZodError, code: ErrorCode = 'invalid_request'): NeurinoError {
  const located = error.issues.map((issue) => locate(issue));
  const first = located[0];
  if (first === undefined) return createError(code);
  const param = formatPath(first.path);
  return createError(first.code ?? code, {
    message: param === '' ? first.message : `${param}: ${first.message}`,
    ...(param === '' ? {} : { param }),
    details: { issues: located.slice(0, 5).map((l) => ({ path: formatPath(l.path), message: l.message })) },
  });
}

/** safeParse (decode direction for codecs) turned into a Result with a NeurinoError. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code: ErrorCode = 'invalid_request',
): Result<z.output<S>> {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: errorFromZod(parsed.error, code) };
}
