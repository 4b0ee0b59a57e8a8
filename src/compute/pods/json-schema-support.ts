// Which JSON Schemas the llama-cpp runtime can enforce. node-llama-cpp's grammar generator ignores what it
// does not know (a `pattern`, a `minimum`, an unknown type turns into `null`), so a caller would get JSON
// that silently breaks their schema: every keyword is checked first, and one it cannot enforce is refused.
// OpenAI's `anyOf` becomes the generator's `oneOf` (for generating, one matching branch is all it takes).
import { PodBadRequestError, PodUnsupportedError } from './errors.ts';

const SCHEMA_PARAM = 'response_format.json_schema.schema';
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);
const FORMATS = new Set(['date-time', 'time', 'date']);
/** Keywords that describe and constrain nothing: dropped. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$schema',
  '$id',
  '$comment',
]);
/** Keywords whose value is a count. */
const COUNTS = new Set(['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties']);
const MAX_DEPTH = 32;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Paths begin with the request field the schema came from. */
function pathOf(path: readonly string[]): string {
  return path.join('.');
}

function invalid(path: readonly string[], message: string): PodBadRequestError {
  return new PodBadRequestError(`${pathOf(path)}: ${message}`, { param: pathOf(path) });
}

/**
 * `schema` as node-llama-cpp's generator takes it (annotations dropped, anyOf as oneOf), or an error
 * naming (under `param`, the request field it came from) the first keyword this pod cannot enforce (unsupported_parameter) or a malformed value (invalid).
 */
export function enforceableSchema(schema: unknown, param = SCHEMA_PARAM): Json {
  const out = checkedSchema(schema, [param], 0);
  // The generator reads a reference to a definition it does not have as "any JSON": refused instead.
  const defined = new Set<string>();
  const refs: string[] = [];
  walk(out, (node) => {
    if (isObject(node.$defs)) for (const name of Object.keys(node.$defs)) defined.add(`#/$defs/${name}`);
    if (typeof node.$ref === 'string') refs.push(node.$ref);
  });
  const missing = refs.find((ref) => !defined.has(ref));
  if (missing !== undefined) throw invalid([param, '$ref'], `${missing} names no definition in $defs`);
  return out;
}

function walk(node: unknown, visit: (node: Json) => void): void {
  if (Array.isArray(node)) for (const item of node) walk(item, visit);
  if (!isObject(node)) return;
  visit(node);
  for (const value of Object.values(node)) walk(value, visit);
}

function checkedSchema(schema: unknown, path: readonly string[], depth: number): Json {
  if (!isObject(schema)) throw invalid(path, 'a schema must be an object');
  if (depth > MAX_DEPTH) throw invalid(path, `schemas nest at most ${MAX_DEPTH} levels deep`);
  const out: Json = {};
  const sub = (value: unknown, at: string[]) => checkedSchema(value, [...path, ...at], depth + 1);
  const subList = (value: unknown, key: string) => {
    if (!Array.isArray(value) || value.length === 0)
      throw invalid([...path, key], 'expected a non-empty list');
    return value.map((item, i) => sub(item, [key, String(i)]));
  };
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key)) {
      if (key === 'description' && typeof value === 'string') out[key] = value;
    } else if (key === 'type') {
      const types = Array.isArray(value) ? value : [value];
      if (types.length === 0 || !types.every((t) => typeof t === 'string' && TYPES.has(t))) {
        throw invalid([...path, key], `expected one or more of ${[...TYPES].join(', ')}`);
      }
      if (Array.isArray(value) && value.some((t) => t === 'object' || t === 'array')) {
        throw unsupported([...path, key], 'a list of types with object or array (use anyOf)');
      }
      out[key] = value;
    } else if (key === 'properties' || key === '$defs') {
      if (!isObject(value)) throw invalid([...path, key], 'expected an object of schemas');
      out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, sub(s, [key, name])]));
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value !== 'boolean')) {
      out[key] = sub(value, [key]);
    } else if (key === 'additionalProperties') {
      out[key] = value;
    } else if (key === 'prefixItems' || key === 'oneOf' || key === 'anyOf') {
      out[key === 'anyOf' ? 'oneOf' : key] = subList(value, key);
    } else if (key === 'required') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw invalid([...path, key], 'expected a list of property names');
      }
      out[key] = value;
    } else if (COUNTS.has(key)) {
      if (!Number.isInteger(value) || (value as number) < 0)
        throw invalid([...path, key], 'expected a count');
      out[key] = value;
    } else if (key === 'enum') {
      if (!Array.isArray(value) || value.length === 0 || !value.every(isScalar)) {
        throw invalid([...path, key], 'expected a non-empty list of strings, numbers, booleans or null');
      }
      out[key] = value;
    } else if (key === 'const') {
      if (!isScalar(value)) throw unsupported([...path, key], 'a const that is an object or a list');
      out[key] = value;
    } else if (key === 'format') {
      if (typeof value !== 'string' || !FORMATS.has(value)) {
        throw unsupported(
          [...path, key],
          `format ${JSON.stringify(value)} (only ${[...FORMATS].join(', ')})`,
        );
      }
      out[key] = value;
    } else if (key === '$ref') {
      if (typeof value !== 'string' || !/^#\/\$defs\/[^/]+$/.test(value)) {
        throw unsupported([...path, key], 'a reference other than #/$defs/<name>');
      }
      out[key] = value;
    } else {
      throw unsupported([...path, key], `the keyword ${JSON.stringify(key)}`);
    }
  }
  return out;
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function unsupported(path: readonly string[], what: string): PodUnsupportedError {
  return new PodUnsupportedError(`${pathOf(path)}: this pod cannot enforce ${what}`, { param: pathOf(path) });
}
