// OpenAI's Conversations API (`/v1/conversations`): a conversation is a list of items kept for a credit
// account, which a response names with `conversation` to read them first and to add its input and output
// after; its items are the Responses API's input items, kept with ids and statuses
// (openai-responses-api-items.ts).
import { z } from 'zod';
import { ResponsesInputItemSchema } from './openai-responses-api.ts';
import type { ContextItem } from './openai-responses-api-items.ts';
import { parseWith, type Result } from './schema-errors.ts';

/** Items one request may add (OpenAI's bound). */
export const MAX_ITEMS_PER_ADD = 20;
const MAX_METADATA_KEYS = 16;

const Metadata = z
  .record(z.string().max(64, 'metadata keys are at most 64 characters'), z.string().max(512))
  .refine((metadata) => Object.keys(metadata).length <= MAX_METADATA_KEYS, {
    message: `metadata has at most ${MAX_METADATA_KEYS} keys`,
  });

const Items = z.array(ResponsesInputItemSchema).max(MAX_ITEMS_PER_ADD);

export const ConversationCreateSchema = z.strictObject({
  items: Items.nullish(),
  metadata: Metadata.nullish(),
});

export const ConversationUpdateSchema = z.strictObject({ metadata: Metadata });

export const ConversationItemsAddSchema = z.strictObject({ items: Items.min(1) });

export type ConversationMetadata = z.output<typeof Metadata>;

export function parseConversationCreate(body: unknown): Result<z.output<typeof ConversationCreateSchema>> {
  return parseWith(ConversationCreateSchema, body ?? {});
}

export function parseConversationUpdate(body: unknown): Result<z.output<typeof ConversationUpdateSchema>> {
  return parseWith(ConversationUpdateSchema, body);
}

export function parseConversationItemsAdd(
  body: unknown,
): Result<z.output<typeof ConversationItemsAddSchema>> {
  return parseWith(ConversationItemsAddSchema, body);
}

/** The conversation as OpenAI answers it. */
export interface ConversationObject {
  id: string;
  object: 'conversation';
  /** Unix seconds. */
  created_at: number;
  metadata: ConversationMetadata;
}

export function conversationObject(c: {
  id: string;
  createdAt: number;
  metadata: ConversationMetadata;
}): ConversationObject {
  return {
    id: c.id,
    object: 'conversation',
    created_at: Math.floor(c.createdAt / 1_000),
    metadata: c.metadata,
  };
}

/** The ids that occur more than once among `items` and those already kept; the first such, if any. */
export function repeatedItemId(
  items: readonly ContextItem[],
  kept: ReadonlySet<string> = new Set(),
): { id: string; index: number } | undefined {
  const seen = new Set(kept);
  for (const [index, item] of items.entries()) {
    if (seen.has(item.id)) return { id: item.id, index };
    seen.add(item.id);
  }
  return undefined;
}
