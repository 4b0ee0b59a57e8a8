import { randomBytes } from 'node:crypto';

/** A new call id in OpenAI's form (`call_` and 24 hex digits): the caller answers the call by it. */
export function newToolCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}
