// The Conversations API's conversations: items kept in the order they were added, for a credit account
// (every key of the account reads them, no one else), until deleted. A response that names one reads its
// items first and adds its turn (its input and output) after. Routers sharing the store share them.
import { type Address, getAddress } from 'viem';
import type { ConversationMetadata } from '../../protocol/openai-conversations.ts';
import type { ContextItem } from '../../protocol/openai-responses-api-items.ts';
import { numberOf, textArrayOf } from '../store/sql-values.ts';
import type { Queryable, Store } from '../store/store.ts';

export interface StoredConversation {
  id: string;
  /** ms */
  createdAt: number;
  metadata: ConversationMetadata;
}

interface Row {
  id: string;
  created_at: unknown;
  metadata: ConversationMetadata;
}

const conversationOf = (row: Row): StoredConversation => ({
  id: row.id,
  createdAt: numberOf(row.created_at),
  metadata: row.metadata,
});

/** Items of one conversation of the account, by position. */
const OWNED = `conversation_items i join conversations c on c.id = i.conversation_id
  where c.id = $1 and c.payer = $2`;

export class ConversationArchive {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, options: { now?: () => number } = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
  }

  async create(p: {
    id: string;
    payer: Address;
    apiKeyId: string;
    metadata: ConversationMetadata;
    items: readonly ContextItem[];
  }): Promise<StoredConversation> {
    const createdAt = this.#now();
    await this.#store.transaction(async (tx) => {
      await tx.query(
        `insert into conversations (id, payer, api_key_id, created_at, metadata)
         values ($1, $2, $3, $4, $5::json)`,
        [p.id, getAddress(p.payer), p.apiKeyId, createdAt, JSON.stringify(p.metadata)],
      );
      await insertItems(tx, p.id, p.items);
    });
    return { id: p.id, createdAt, metadata: p.metadata };
  }

  /** The account's conversation; undefined when missing or someone else's (they look the same). */
  async find(id: string, payer: Address): Promise<StoredConversation | undefined> {
    const [row] = await this.#store.query<Row>(
      'select id, created_at, metadata from conversations where id = $1 and payer = $2',
      [id, getAddress(payer)],
    );
    return row === undefined ? undefined : conversationOf(row);
  }

  /** Replaces its metadata; undefined when there is no such conversation. */
  async update(
    id: string,
    payer: Address,
    metadata: ConversationMetadata,
  ): Promise<StoredConversation | undefined> {
    const [row] = await this.#store.query<Row>(
      `update conversations set metadata = $3::json where id = $1 and payer = $2
       returning id, created_at, metadata`,
      [id, getAddress(payer), JSON.stringify(metadata)],
    );
    return row === undefined ? undefined : conversationOf(row);
  }

  /** Deletes it with its items; false when there was none. */
  async remove(id: string, payer: Address): Promise<boolean> {
    const rows = await this.#store.query(
      'delete from conversations where id = $1 and payer = $2 returning id',
      [id, getAddress(payer)],
    );
    return rows.length > 0;
  }

  /**
   * Adds items after the others; false when there is no such conversation. An item whose id is there
   * already is left out (two turns added at once; callers check ids first, see `keptIds`).
   */
  async add(id: string, payer: Address, items: readonly ContextItem[]): Promise<boolean> {
    return this.#store.transaction(async (tx) => {
      // Locked against a delete while the items go in.
      const owned = await tx.query('select 1 from conversations where id = $1 and payer = $2 for share', [
        id,
        getAddress(payer),
      ]);
      if (owned.length === 0) return false;
      await insertItems(tx, id, items);
      return true;
    });
  }

  /**
   * Its items in order, the last `last` of them when given (a response reads no more than it can use);
   * undefined when there is no such conversation.
   */
  async items(id: string, payer: Address, last?: number): Promise<ContextItem[] | undefined> {
    if ((await this.find(id, payer)) === undefined) return undefined;
    const rows = await this.#store.query<{ item: ContextItem }>(
      `select item from (select i.item, i.position from ${OWNED} order by i.position desc limit $3) newest
       order by position`,
      [id, getAddress(payer), last ?? null],
    );
    return rows.map((row) => row.item);
  }

  /** Which of `ids` the conversation holds already. */
  async keptIds(id: string, payer: Address, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.#store.query<{ item_id: string }>(
      `select i.item_id from ${OWNED} and i.item_id = any($3::text[])`,
      [id, getAddress(payer), textArrayOf(ids)],
    );
    return new Set(rows.map((row) => row.item_id));
  }

  async item(id: string, payer: Address, itemId: string): Promise<ContextItem | undefined> {
    const [row] = await this.#store.query<{ item: ContextItem }>(
      `select i.item from ${OWNED} and i.item_id = $3`,
      [id, getAddress(payer), itemId],
    );
    return row?.item;
  }

  /**
   * A page of items after the item `after` (when given), oldest first (`asc`) or newest first (`desc`):
   * `limit` and one more when there are, which tells a next page exists.
   */
  async page(
    id: string,
    payer: Address,
    query: { limit: number; order: 'asc' | 'desc'; after?: string | undefined },
  ): Promise<ContextItem[]> {
    const [comparison, direction] = query.order === 'asc' ? ['>', 'asc'] : ['<', 'desc'];
    const params = [id, getAddress(payer), query.limit + 1, query.after ?? null];
    const rows = await this.#store.query<{ item: ContextItem }>(
      `select i.item from ${OWNED}
       and ($4::text is null or i.position ${comparison}
         (select position from conversation_items where conversation_id = $1 and item_id = $4))
       order by i.position ${direction} limit $3`,
      params,
    );
    return rows.map((row) => row.item);
  }

  async removeItem(id: string, payer: Address, itemId: string): Promise<boolean> {
    const rows = await this.#store.query(
      `delete from conversation_items i using conversations c
       where c.id = i.conversation_id and c.id = $1 and c.payer = $2 and i.item_id = $3
       returning i.item_id`,
      [id, getAddress(payer), itemId],
    );
    return rows.length > 0;
  }
}

/** In the given order, after the conversation's others; an id there already is left out. */
async function insertItems(tx: Queryable, id: string, items: readonly ContextItem[]): Promise<void> {
  if (items.length === 0) return;
  // Ids and items side by side: PostgreSQL cannot read an id out of an item holding U+0000 in a string.
  await tx.query(
    `insert into conversation_items (conversation_id, item_id, item)
     select $1, t.item_id, t.item::json from unnest($2::text[], $3::text[]) with ordinality as t(item_id, item, n)
     order by n
     on conflict (conversation_id, item_id) do nothing`,
    [id, textArrayOf(items.map((item) => item.id)), textArrayOf(items.map((item) => JSON.stringify(item)))],
  );
}
