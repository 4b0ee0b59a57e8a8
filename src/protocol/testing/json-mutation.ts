// Tests only: seeded mutations of valid JSON requests, for fuzzing an entry point. Each mutation changes one
// place of the document (a field dropped, replaced by a value of another shape or an edge value, a field
// added), so most of a mutated request stays valid and the checks behind the first ones are reached too.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Uniform in [0, 1). */
export type Random = () => number;

export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('nothing to pick from');
  return items[Math.floor(random() * items.length)] as T;
}

const DROP = Symbol('drop');

/** Sets a field as an own property, as JSON.parse reads `"__proto__": …` in a body. */
function setField(object: { [key: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(object, key, { value, enumerable: true, configurable: true, writable: true });
}

/** Values at the edges of what request fields take: zero, negatives, huge, fractional, empty, odd text. */
const EDGE_VALUES: readonly Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  2,
  16,
  17,
  0.5,
  -0.5,
  2 ** 31,
  2 ** 53 + 2,
  1e308,
  -1e308,
  '',
  ' ',
  'a',
  '0',
  '-1',
  'true',
  'null',
  'auto',
  'none',
  'required',
  'user',
  'assistant',
  'system',
  'developer',
  'tool',
  'function',
  'text',
  'json_object',
  'json_schema',
  'message',
  'input_text',
  'function_call_output',
  'neurino-tiny',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'é🙂',
  '0x',
  `0x${'0'.repeat(64)}`,
  'x'.repeat(5_000),
  [],
  {},
  [null],
  [''],
  { type: 'text' },
  { role: 'user', content: 'hi' },
];

/** Names a mutation may add: fields the routes know, and ones that could reach the object's prototype. */
const FIELD_NAMES: readonly string[] = [
  'model',
  'messages',
  'prompt',
  'input',
  'stream',
  'n',
  'max_tokens',
  'temperature',
  'tools',
  'tool_choice',
  'response_format',
  'logprobs',
  'top_logprobs',
  'stop',
  'seed',
  'suffix',
  'user',
  'metadata',
  'store',
  'background',
  'previous_response_id',
  'conversation',
  'instructions',
  'text',
  'items',
  'dimensions',
  'encoding_format',
  'echo',
  'best_of',
  'logit_bias',
  'stream_options',
  'parallel_tool_calls',
  'mode',
  'timeout_ms',
  'max_retries',
  'pod',
  'type',
  'role',
  'content',
  'name',
  'arguments',
  'id',
  'extra',
  '__proto__',
  'constructor',
  'toString',
];

/** A random value: an edge value, or a small array or object of them. */
export function randomJson(random: Random, depth = 0): Json {
  const roll = random();
  if (depth >= 2 || roll < 0.7) return pick(random, EDGE_VALUES);
  if (roll < 0.85)
    return Array.from({ length: Math.floor(random() * 3) }, () => randomJson(random, depth + 1));
  const object: { [key: string]: Json } = {};
  for (let i = Math.floor(random() * 3); i > 0; i--) {
    setField(object, pick(random, FIELD_NAMES), randomJson(random, depth + 1));
  }
  return object;
}

/** Every place in the document, as the list of keys and indexes leading to it (the root is []). */
function places(value: Json, at: Array<string | number> = [], into: Array<Array<string | number>> = []) {
  into.push(at);
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) places(item, [...at, i], into);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) places(item, [...at, key], into);
  }
  return into;
}

function change(
  value: Json,
  path: ReadonlyArray<string | number>,
  edit: (old: Json) => Json | typeof DROP,
): Json | typeof DROP {
  const [head, ...rest] = path;
  if (head === undefined) return edit(value);
  if (Array.isArray(value) && typeof head === 'number') {
    const copy = [...value];
    const next = change(copy[head] as Json, rest, edit);
    if (next === DROP) copy.splice(head, 1);
    else copy[head] = next;
    return copy;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof head === 'string') {
    const copy: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) setField(copy, key, item);
    const next = change(copy[head] as Json, rest, edit);
    if (next === DROP) delete copy[head];
    else setField(copy, head, next);
    return copy;
  }
  return value;
}

/** One mutation at a random place: dropped, replaced, wrapped, grown by a field or an item. */
export function mutateOnce(document: Json, random: Random): Json {
  const path = pick(random, places(document));
  const roll = random();
  const changed = change(document, path, (old) => {
    if (roll < 0.2 && path.length > 0) return DROP;
    if (roll < 0.6) return randomJson(random);
    if (roll < 0.7) return [old];
    if (Array.isArray(old)) return roll < 0.85 ? [...old, randomJson(random)] : [...old, ...old];
    if (old !== null && typeof old === 'object') {
      const grown: { [key: string]: Json } = {};
      for (const [key, item] of Object.entries(old)) setField(grown, key, item);
      setField(grown, pick(random, FIELD_NAMES), randomJson(random));
      return grown;
    }
    if (typeof old === 'number') return pick(random, [old + 1, old - 1, -old, old * 1_000, old / 3]);
    if (typeof old === 'string') {
      // Text that JavaScript holds and storage may not: U+0000, half a surrogate pair.
      return pick(random, [
        old.toUpperCase(),
        `${old} `,
        old.repeat(3),
        old.slice(1),
        `${old}\u0000`,
        `\ud800${old}`,
      ]);
    }
    return randomJson(random);
  });
  return changed === DROP ? document : changed;
}

/** One to three mutations of `document`. */
export function mutate(document: Json, random: Random): Json {
  let mutated = document;
  for (let i = 1 + Math.floor(random() * 3); i > 0; i--) mutated = mutateOnce(mutated, random);
  return mutated;
}
