import { z } from 'zod';

/** Longest id a request may name: ours are far shorter, so a longer one names nothing. */
export const MAX_OBJECT_ID_CHARS = 128;

/** Printable ASCII without spaces: what our ids and OpenAI's are made of. */
const OBJECT_ID_PATTERN = /^[\x21-\x7e]+$/;

export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_OBJECT_ID_CHARS && OBJECT_ID_PATTERN.test(value);
}

/**
 * An id a request names to continue or read a stored object (a response, a conversation). Held to the
 * characters of ids so that a string no id can be (a control character, U+0000 which the store cannot
 * even compare) is refused as such rather than looked up.
 */
export const ObjectIdSchema = z
  .string()
  .min(1)
  .max(MAX_OBJECT_ID_CHARS)
  .regex(OBJECT_ID_PATTERN, { error: 'an id is printable ASCII without spaces' });
