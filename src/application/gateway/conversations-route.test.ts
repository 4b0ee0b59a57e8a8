// The Conversations API over real HTTP with the official client, and responses that name a conversation:
// a conversation kept for its account (created with items and metadata, read, updated, its items added,
// listed in pages, read and deleted one by one, deleted whole); a response reads its items first and adds
// its turn (whole, streamed, in the background), a failed one adds nothing; and what is refused.
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { apiErrorOf } from '../testing/api-error.ts';
import { clientOf, hello, type MinerBehaviour, startClientHarness } from '../testing/client-harness.ts';
import type { GatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(6).address;
let h: GatewayHarness;
let client: OpenAI;
let strangers: OpenAI;
// biome-ignore lint/suspicious/noExplicitAny: tests read the node's input field by field
let inputs: any[] = [];
let behave: MinerBehaviour = hello;

beforeAll(async () => {
  ({ h, client } = await startClientHarness(developer, (peer, assign) => {
    inputs.push(assign.input);
    return behave(peer, assign);
  }));
  strangers = await clientOf(h, devAccount(7).address);
});

afterAll(async () => {
  await h?.close();
});

const texts = (items: ReadonlyArray<{ type: string; content?: unknown }>) =>
  items.map((item) =>
    item.type === 'message'
      ? (item.content as Array<{ text: string }>).map((part) => part.text).join('')
      : item.type,
  );

async function allItems(id: string) {
  const items = [];
  for await (const item of client.conversations.items.list(id, { order: 'asc', limit: 2 })) items.push(item);
  return items;
}

describe('conversations', () => {
  it('keeps a conversation for its account: created, read, updated, items added, listed, deleted', async () => {
    const created = await client.conversations.create({
      items: [
        { type: 'message', role: 'user', content: 'one', id: 'msg_one' } as never,
        { role: 'user', content: 'two' },
      ],
      metadata: { topic: 'tests' },
    });
    expect(created).toMatchObject({ object: 'conversation', metadata: { topic: 'tests' } });
    expect(created.id).toMatch(/^conv_/);
    expect(await client.conversations.retrieve(created.id)).toEqual(created);
    expect(await apiErrorOf(strangers.conversations.retrieve(created.id))).toMatchObject({
      status: 404,
      code: 'conversation_not_found',
    });
    const updated = await client.conversations.update(created.id, { metadata: { topic: 'more' } });
    expect(updated.metadata).toEqual({ topic: 'more' });

    const added = await client.conversations.items.create(created.id, {
      items: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'three' }] }],
    });
    expect(texts(added.data)).toEqual(['three']);
    const items = await allItems(created.id);
    expect(texts(items)).toEqual(['one', 'two', 'three']);
    expect(items[0]).toMatchObject({ id: 'msg_one', status: 'completed', role: 'user' });
    const newestFirst = await client.conversations.items.list(created.id, { limit: 1 });
    expect(texts(newestFirst.data)).toEqual(['three']);
    expect(newestFirst.has_more).toBe(true);

    expect(await client.conversations.items.retrieve('msg_one', { conversation_id: created.id })).toEqual(
      items[0],
    );
    const afterDelete = await client.conversations.items.delete('msg_one', { conversation_id: created.id });
    expect(afterDelete).toMatchObject({ id: created.id, object: 'conversation' });
    expect(
      await apiErrorOf(client.conversations.items.retrieve('msg_one', { conversation_id: created.id })),
    ).toMatchObject({ status: 404, code: 'conversation_item_not_found' });
    expect(await client.conversations.delete(created.id)).toEqual({
      id: created.id,
      object: 'conversation.deleted',
      deleted: true,
    });
    expect(await apiErrorOf(client.conversations.retrieve(created.id))).toMatchObject({ status: 404 });
  });

  it('gives a response its items first and adds its turn: whole, streamed and in the background', async () => {
    const conversation = await client.conversations.create({ items: [{ role: 'user', content: 'Hi' }] });
    inputs = [];
    const first = await client.responses.create({
      model: 'test-llm',
      input: 'Say hello',
      conversation: conversation.id,
    });
    expect(first.output_text).toBe('Hello world');
    expect(first.conversation).toEqual({ id: conversation.id });
    expect(inputs[0].messages.map((m: { content: string }) => m.content)).toEqual(['Hi', 'Say hello']);
    expect(texts(await allItems(conversation.id))).toEqual(['Hi', 'Say hello', 'Hello world']);

    const stream = await client.responses.create({
      model: 'test-llm',
      input: 'Again',
      conversation: { id: conversation.id },
      stream: true,
    });
    for await (const _ of stream) {
    }
    expect(inputs[1].messages).toHaveLength(4);
    const queued = await client.responses.create({
      model: 'test-llm',
      input: 'Later',
      conversation: conversation.id,
      background: true,
    });
    let status = queued.status;
    while (status === 'queued' || status === 'in_progress') {
      await new Promise((resolve) => setTimeout(resolve, 10));
      status = (await client.responses.retrieve(queued.id)).status;
    }
    expect(texts(await allItems(conversation.id))).toEqual([
      'Hi',
      'Say hello',
      'Hello world',
      'Again',
      'Hello world',
      'Later',
      'Hello world',
    ]);

    behave = (peer, assign) => peer.fail(assign, 'invalid_request', 'the pod refused the prompt', false);
    try {
      await apiErrorOf(
        client.responses.create({ model: 'test-llm', input: 'Fails', conversation: conversation.id }),
      );
    } finally {
      behave = hello;
    }
    expect(await allItems(conversation.id)).toHaveLength(7);
  });

  it('refuses what it cannot take, by name', async () => {
    const conversation = await client.conversations.create({
      items: [{ role: 'user', content: 'x', id: 'msg_x' } as never],
    });
    const refusals = [
      [
        () =>
          client.conversations.create({
            items: Array.from({ length: 21 }, () => ({ role: 'user' as const, content: 'x' })),
          }),
        'items',
      ],
      [
        () =>
          client.conversations.create({
            metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])),
          }),
        'metadata',
      ],
      [() => client.conversations.create({ color: 'red' } as never), null],
      [
        () =>
          client.conversations.items.create(conversation.id, {
            items: [{ role: 'user', content: 'y', id: 'msg_x' } as never],
          }),
        'items[0].id',
      ],
      [() => client.conversations.items.list(conversation.id, { after: 'msg_none' }), 'after'],
      [
        () =>
          client.responses.create({
            model: 'test-llm',
            input: 'x',
            conversation: conversation.id,
            previous_response_id: 'resp_x',
          }),
        'conversation',
      ],
      [
        () =>
          client.responses.create({
            model: 'test-llm',
            input: [{ role: 'user', content: 'y', id: 'msg_x' } as never],
            conversation: conversation.id,
          }),
        'input[0].id',
      ],
    ] as const;
    for (const [call, param] of refusals) {
      const error = await apiErrorOf(call());
      expect(error.status, String(param)).toBe(400);
      if (param !== null) expect(error.param).toBe(param);
    }
    expect(
      await apiErrorOf(client.responses.create({ model: 'test-llm', input: 'x', conversation: 'conv_none' })),
    ).toMatchObject({ status: 404, code: 'conversation_not_found', param: 'conversation' });
  });
});
