// What ties a chat job to the earlier turns of its conversation: its leading messages up to and
// including the first user message (the system prompt and the question that opened it), which every
// later turn repeats. Jobs with the same key begin the same way, so a node's prompt cache may hold them.
import { createHash } from 'node:crypto';

/** The key of a chat job's input (an OpenAI chat body as nodes receive it); none for other inputs. */
export function promptAffinityKey(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const { messages } = input as { messages?: unknown };
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const firstUser = messages.findIndex(
    (m) => typeof m === 'object' && m !== null && (m as { role?: unknown }).role === 'user',
  );
  const leading = messages.slice(0, firstUser === -1 ? 1 : firstUser + 1);
  return createHash('sha256').update(JSON.stringify(leading)).digest('base64url');
}
