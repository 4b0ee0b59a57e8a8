// Conversations on both stores: kept for their account only, items in the order added (an id once per
// conversation), read whole or in pages either way from any item, metadata replaced, an item or the
// whole conversation deleted.
import { getAddress } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import type { ContextItem } from '../../protocol/openai-responses-api-items.ts';
import type { Store } from '../store/store.ts';
import { ConversationArchive } from './conversation-archive.ts';

const newPayer = () => getAddress(`0x${randomBytes32().slice(26)}`);
const said = (id: string, text: string): ContextItem => ({
  id,
  type: 'message',
  role: 'user',
  status: 'completed',
  content: [{ type: 'input_text', text }],
});

describe.each(storeBackends())('ConversationArchive on $kind', (backend) => {
  const db = freshStoreFor(backend);
  let store: Store;

  beforeAll(() => {
    store = db.store;
  });

  it('keeps a conversation for its account, its items in order, an id once', async () => {
    const archive = new ConversationArchive(store, { now: () => 1_800_000_000_123 });
    const payer = newPayer();
    const id = newApiId('conversation');
    const created = await archive.create({
      id,
      payer,
      apiKeyId: 'key_1',
      metadata: { topic: 'ü' },
      items: [said('msg_1', 'one'), said('msg_2', 'two')],
    });
    expect(created).toEqual({ id, createdAt: 1_800_000_000_123, metadata: { topic: 'ü' } });
    expect(await archive.find(id, payer)).toEqual(created);
    expect(await archive.find(id, newPayer())).toBeUndefined();
    expect(await archive.add(id, newPayer(), [said('msg_x', 'no')])).toBe(false);
    expect(await archive.add(id, payer, [said('msg_3', 'three'), said('msg_1', 'again')])).toBe(true);
    expect((await archive.items(id, payer))?.map((item) => item.id)).toEqual(['msg_1', 'msg_2', 'msg_3']);
    expect(await archive.items(id, newPayer())).toBeUndefined();
    expect(await archive.keptIds(id, payer, ['msg_2', 'msg_9', 'a"b'])).toEqual(new Set(['msg_2']));
    expect(await archive.item(id, payer, 'msg_2')).toEqual(said('msg_2', 'two'));
    expect(await archive.item(id, newPayer(), 'msg_2')).toBeUndefined();
  });

  it('keeps text with U+0000 or half a surrogate pair in items and metadata', async () => {
    const archive = new ConversationArchive(store);
    const payer = newPayer();
    const id = newApiId('conversation');
    const nul = 'a\u0000b\ud800';
    await archive.create({
      id,
      payer,
      apiKeyId: 'key_1',
      metadata: { topic: nul },
      items: [said('msg_1', nul)],
    });
    expect(await archive.add(id, payer, [said('msg_2', nul)])).toBe(true);
    expect(await archive.items(id, payer)).toEqual([said('msg_1', nul), said('msg_2', nul)]);
    expect((await archive.update(id, payer, { other: nul }))?.metadata).toEqual({ other: nul });
    expect((await archive.find(id, payer))?.metadata).toEqual({ other: nul });
  });

  it('reads items in pages either way, from any item', async () => {
    const archive = new ConversationArchive(store);
    const payer = newPayer();
    const id = newApiId('conversation');
    const items = Array.from({ length: 5 }, (_, i) => said(`msg_${i}`, `${i}`));
    await archive.create({ id, payer, apiKeyId: 'k', metadata: {}, items });
    const ids = (page: ContextItem[]) => page.map((item) => item.id);
    // One more than the page when there is: a next page exists.
    expect(ids(await archive.page(id, payer, { limit: 2, order: 'desc' }))).toEqual([
      'msg_4',
      'msg_3',
      'msg_2',
    ]);
    expect(ids(await archive.page(id, payer, { limit: 2, order: 'desc', after: 'msg_1' }))).toEqual([
      'msg_0',
    ]);
    expect(ids(await archive.page(id, payer, { limit: 10, order: 'asc', after: 'msg_2' }))).toEqual([
      'msg_3',
      'msg_4',
    ]);
    expect(ids(await archive.page(id, newPayer(), { limit: 10, order: 'asc' }))).toEqual([]);
    // The newest few, still oldest first.
    expect((await archive.items(id, payer, 2))?.map((item) => item.id)).toEqual(['msg_3', 'msg_4']);
  });

  it('replaces metadata, deletes an item, and deletes the conversation with its items', async () => {
    const archive = new ConversationArchive(store);
    const payer = newPayer();
    const id = newApiId('conversation');
    await archive.create({ id, payer, apiKeyId: 'k', metadata: { a: '1' }, items: [said('msg_1', 'x')] });
    expect((await archive.update(id, payer, { b: '2' }))?.metadata).toEqual({ b: '2' });
    expect(await archive.update(id, newPayer(), { c: '3' })).toBeUndefined();
    expect(await archive.removeItem(id, newPayer(), 'msg_1')).toBe(false);
    expect(await archive.removeItem(id, payer, 'msg_1')).toBe(true);
    expect(await archive.removeItem(id, payer, 'msg_1')).toBe(false);
    await archive.add(id, payer, [said('msg_2', 'y')]);
    expect(await archive.remove(id, newPayer())).toBe(false);
    expect(await archive.remove(id, payer)).toBe(true);
    expect(await archive.find(id, payer)).toBeUndefined();
    const left = await store.query('select 1 from conversation_items where conversation_id = $1', [id]);
    expect(left).toHaveLength(0);
  });
});
