// A router upgraded onto the database a router before schema 16 used, whose documents were jsonb: they
// read back the same as json, and each stored response's status is copied into its new column, so a
// background response left running is still found, begun and finished.
import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { storeBackends } from '../../../test/support/postgres.ts';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import type { Store } from '../store/store.ts';
import { ConversationArchive } from './conversation-archive.ts';
import { ResponseArchive } from './response-archive.ts';
import { responseFixture } from './testing/response-fixture.ts';

const JSON_COLUMNS = [
  ['jobs', 'request'],
  ['jobs', 'result'],
  ['responses', 'response'],
  ['responses', 'context'],
  ['responses', 'events'],
  ['conversations', 'metadata'],
  ['conversation_items', 'item'],
] as const;

/** The schema a router before version 16 left: documents as jsonb, no status column. */
async function backToSchema15(store: Store): Promise<void> {
  for (const [table, column] of JSON_COLUMNS) {
    await store.query(`alter table ${table} alter column ${column} type jsonb using ${column}::jsonb`);
  }
  await store.query('alter table responses drop column status');
  await store.query('delete from schema_migrations where version = 16');
}

describe.each(storeBackends())('upgrading to documents kept as written on $kind', (backend) => {
  it('keeps what was stored and each response its status', async () => {
    const target = await backend.fresh();
    const payer = getAddress(`0x${randomBytes32().slice(26)}`);
    const queuedId = newApiId('response');
    const doneId = newApiId('response');
    const conversationId = newApiId('conversation');
    const queued = { ...responseFixture(queuedId), status: 'queued' as const, output: [] };
    const item = { id: 'msg_1', type: 'message' as const, role: 'user' as const, content: 'hi' };
    try {
      const before = await target.open();
      try {
        await backToSchema15(before);
        const insert = `insert into responses (id, payer, api_key_id, created_at, response, context, deadline_at)
          values ($1, $2, 'key_1', $3, $4::jsonb, '[]', $5)`;
        await before.query(insert, [
          queuedId,
          payer,
          Date.now(),
          JSON.stringify(queued),
          Date.now() + 60_000,
        ]);
        await before.query(insert, [
          doneId,
          payer,
          Date.now(),
          JSON.stringify(responseFixture(doneId)),
          null,
        ]);
        await before.query(
          `insert into conversations (id, payer, api_key_id, created_at, metadata)
           values ($1, $2, 'key_1', 1, '{"topic":"old"}')`,
          [conversationId, payer],
        );
        await before.query(
          `insert into conversation_items (conversation_id, item_id, item) values ($1, 'msg_1', $2::jsonb)`,
          [conversationId, JSON.stringify(item)],
        );
      } finally {
        await before.close();
      }

      const store = await target.open();
      try {
        const statuses = await store.query<{ id: string; status: string }>(
          'select id, status from responses order by status',
        );
        expect(statuses).toEqual([
          { id: doneId, status: 'completed' },
          { id: queuedId, status: 'queued' },
        ]);
        const responses = new ResponseArchive(store);
        expect((await responses.find(doneId, payer))?.response).toEqual(responseFixture(doneId));
        expect(await responses.started(queuedId, payer, { ...queued, status: 'in_progress' })).toBe(true);
        expect(await responses.finish(queuedId, payer, responseFixture(queuedId))).toBe(true);
        expect((await responses.find(queuedId, payer))?.response.status).toBe('completed');
        const conversations = new ConversationArchive(store);
        expect((await conversations.find(conversationId, payer))?.metadata).toEqual({ topic: 'old' });
        expect(await conversations.items(conversationId, payer)).toEqual([item]);
      } finally {
        await store.close();
      }
    } finally {
      await target.dispose();
    }
  });
});
