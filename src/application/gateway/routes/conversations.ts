// OpenAI's Conversations API, for the caller's credit account only (anyone else's conversation is
// answered as missing): POST/GET/DELETE /v1/conversations[/:id] (POST on one replaces its metadata), and
// its items: POST and GET /v1/conversations/:id/items, GET and DELETE /v1/conversations/:id/items/:item.
// A response that names a conversation reads it and adds its turn (responses.ts).
import type { FastifyInstance } from 'fastify';
import type { Address } from 'viem';
import { z } from 'zod';
import { FatalError } from '../../../protocol/errors.ts';
import { newApiId } from '../../../protocol/ids.ts';
import {
  conversationObject,
  parseConversationCreate,
  parseConversationItemsAdd,
  parseConversationUpdate,
  repeatedItemId,
} from '../../../protocol/openai-conversations.ts';
import { type ContextItem, contextOf } from '../../../protocol/openai-responses-api-items.ts';
import { parseWith } from '../../../protocol/schema-errors.ts';
import { principalOf } from '../auth.ts';
import { parsedOrThrow } from '../context.ts';
import { IncludeFields, listPage, PageLimit } from '../list-page.ts';
import type { ConversationStore } from '../ports.ts';

const ItemsQuery = z.strictObject({
  limit: PageLimit,
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().max(128).optional(),
  ...IncludeFields,
});
const IncludeQuery = z.strictObject(IncludeFields);

type IdParams = { Params: { id: string } };
type ItemParams = { Params: { id: string; item: string } };

export function conversationNotFound(id: string, param: string): FatalError {
  return new FatalError('conversation_not_found', {
    message: `No conversation ${JSON.stringify(id.slice(0, 128))} in your account`,
    param,
  });
}

/** Refuses items whose ids repeat among themselves or those the conversation holds (all of it). */
export async function checkItemsNew(
  conversations: ConversationStore,
  id: string,
  payer: Address,
  items: readonly ContextItem[],
  param: string,
): Promise<void> {
  const kept = await conversations.keptIds(
    id,
    payer,
    items.map((item) => item.id),
  );
  checkNewItems(items, kept, param);
}

function checkNewItems(items: readonly ContextItem[], kept: ReadonlySet<string>, param: string): void {
  const repeated = repeatedItemId(items, kept);
  if (repeated === undefined) return;
  throw new FatalError('invalid_request', {
    message: `Item id ${JSON.stringify(repeated.id)} is already in the conversation: each item's id is its own`,
    param: `${param}[${repeated.index}].id`,
  });
}

export function conversationRoutes(app: FastifyInstance, conversations: ConversationStore): void {
  const found = async (id: string, account: Address) => {
    const conversation = await conversations.find(id, account);
    if (conversation === undefined) throw conversationNotFound(id, 'conversation_id');
    return conversation;
  };

  app.post('/v1/conversations', async (request) => {
    const body = parsedOrThrow(parseConversationCreate(request.body));
    const principal = principalOf(request);
    const items = contextOf(body.items ?? []);
    checkNewItems(items, new Set(), 'items');
    const created = await conversations.create({
      id: newApiId('conversation'),
      payer: principal.account,
      apiKeyId: principal.id,
      metadata: body.metadata ?? {},
      items,
    });
    return conversationObject(created);
  });

  app.get<IdParams>('/v1/conversations/:id', async (request) =>
    conversationObject(await found(request.params.id, principalOf(request).account)),
  );

  app.post<IdParams>('/v1/conversations/:id', async (request) => {
    const { metadata } = parsedOrThrow(parseConversationUpdate(request.body));
    const { id } = request.params;
    const updated = await conversations.update(id, principalOf(request).account, metadata);
    if (updated === undefined) throw conversationNotFound(id, 'conversation_id');
    return conversationObject(updated);
  });

  app.delete<IdParams>('/v1/conversations/:id', async (request) => {
    const { id } = request.params;
    if (!(await conversations.remove(id, principalOf(request).account)))
      throw conversationNotFound(id, 'conversation_id');
    return { id, object: 'conversation.deleted', deleted: true };
  });

  app.post<IdParams>('/v1/conversations/:id/items', async (request) => {
    parsedOrThrow(parseWith(IncludeQuery, request.query));
    const body = parsedOrThrow(parseConversationItemsAdd(request.body));
    const { id } = request.params;
    const { account } = principalOf(request);
    await found(id, account);
    const items = contextOf(body.items);
    await checkItemsNew(conversations, id, account, items, 'items');
    if (!(await conversations.add(id, account, items))) throw conversationNotFound(id, 'conversation_id');
    return listPage(items, items.length, (item) => item);
  });

  app.get<IdParams>('/v1/conversations/:id/items', async (request) => {
    const query = parsedOrThrow(parseWith(ItemsQuery, request.query));
    const { id } = request.params;
    const { account } = principalOf(request);
    await found(id, account);
    if (query.after !== undefined && (await conversations.item(id, account, query.after)) === undefined) {
      throw new FatalError('invalid_request', {
        message: `after: the conversation has no item ${JSON.stringify(query.after)}`,
        param: 'after',
      });
    }
    const page = await conversations.page(id, account, query);
    return listPage(page, query.limit, (item) => item);
  });

  app.get<ItemParams>('/v1/conversations/:id/items/:item', async (request) => {
    parsedOrThrow(parseWith(IncludeQuery, request.query));
    const { id, item } = request.params;
    const { account } = principalOf(request);
    await found(id, account);
    const kept = await conversations.item(id, account, item);
    if (kept === undefined) throw itemNotFound(id, item);
    return kept;
  });

  // Answers the conversation, as OpenAI does.
  app.delete<ItemParams>('/v1/conversations/:id/items/:item', async (request) => {
    const { id, item } = request.params;
    const { account } = principalOf(request);
    const conversation = await found(id, account);
    if (!(await conversations.removeItem(id, account, item))) throw itemNotFound(id, item);
    return conversationObject(conversation);
  });
}

function itemNotFound(conversation: string, item: string): FatalError {
  return new FatalError('conversation_item_not_found', {
    message: `Conversation ${conversation.slice(0, 128)} has no item ${JSON.stringify(item.slice(0, 128))}`,
    param: 'item_id',
  });
}
