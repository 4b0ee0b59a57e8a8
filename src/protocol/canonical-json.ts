import { FatalError } from './errors.ts';

/** Deeper JSON than this is refused everywhere: it guards recursion against hostile peers. */
export const MAX_JSON_DEPTH = 64;

/**
 * Canonical JSON (RFC 8785 for the values JSON.parse produces): object keys sorted by UTF-16 code
 * units, no whitespace, numbers as ECMAScript prints them. Two parties hashing the same value get the
 * same bytes. Throws `invalid_request` for values JSON cannot carry (bigint, undefined in arrays,
 * NaN/Infinity, functions, cycles past the depth limit).
 */
export function canonicalJson(value: unknown): string {
  return write(value, 0, '$');
}

function write(value: unknown, depth: number, path: string): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw notJson(path, 'number is not finite');
    return JSON.stringify(value);
  }
  if (typeof value === 'object' && depth >= MAX_JSON_DEPTH) {
    throw notJson(path, `nested deeper than ${MAX_JSON_DEPTH}`);
  }
  if (Array.isArray(value)) {
    return `[${Array.from(value, (item, i) => write(item, depth + 1, `${path}[${i}]`)).join(',')}]`;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, depth + 1, `${path}.${k}`)}`).join(',')}}`;
  }
  throw notJson(path, `${typeof value} is not a JSON value`);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function notJson(path: string, why: string): FatalError {
  return new FatalError('invalid_request', { message: `${path}: ${why}`, param: path });
}

/** True when `value` is plain JSON no deeper than MAX_JSON_DEPTH; iterative, so it cannot overflow the stack. */
export function isBoundedJson(value: unknown): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (item === null || typeof item === 'boolean' || typeof item === 'string') continue;
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) return false;
      continue;
    }
    if (depth >= MAX_JSON_DEPTH || typeof item !== 'object') return false;
    if (Array.isArray(item)) {
      for (const child of item) stack.push([child, depth + 1]);
    } else if (isPlainObject(item)) {
      for (const child of Object.values(item)) if (child !== undefined) stack.push([child, depth + 1]);
    } else {
      return false;
    }
  }
  return true;
}
