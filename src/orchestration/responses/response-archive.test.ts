// Stored responses on both stores: kept per account, deleted once, expired after their retention, and the
// stored JSON read back as it was written (big integers in tool arguments stay text).
import { getAddress } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import type { ContextItem } from '../../protocol/openai-responses-api-items.ts';
import type { ResponseObject } from '../../protocol/openai-responses-api-output.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_RESPONSE_RETENTION_MS, ResponseArchive } from './response-archive.ts';
import { responseFixture } from './testing/response-fixture.ts';

const newPayer = () => getAddress(`0x${randomBytes32().slice(26)}`);

function response(id: string): ResponseObject {
  return responseFixture(id, {
    output: [
      {
        id: 'fc_1',
        type: 'function_call',
        call_id: 'call_1',
        name: 'transfer',
        arguments: '{"wei":123456789012345678901234567890}',
        status: 'completed',
      },
    ],
  });
}

const context: ContextItem[] = [
  {
    id: 'msg_1',
    type: 'message',
    role: 'user',
    status: 'completed',
    content: [{ type: 'input_text', text: 'Pay ü' }],
  },
];

describe.each(storeBackends())('ResponseArchive on $kind', (backend) => {
  const db = freshStoreFor(backend);
  let store: Store;

  beforeAll(() => {
    store = db.store;
  });

  it('keeps a response for its account only, as written, and deletes it once', async () => {
    const archive = new ResponseArchive(store);
    const payer = newPayer();
    const id = newApiId('response');
    await archive.save({ id, payer, apiKeyId: 'key_1', response: response(id), context });
    const found = await archive.find(id, payer);
    expect(found?.response).toEqual(response(id));
    expect(found?.context).toEqual(context);
    // The account, not the key: its address in any case.
    expect((await archive.find(id, getAddress(payer.toLowerCase())))?.response.id).toBe(id);
    expect(await archive.find(id, newPayer())).toBeUndefined();
    expect(await archive.remove(id, newPayer())).toBe(false);
    expect(await archive.remove(id, payer)).toBe(true);
    expect(await archive.remove(id, payer)).toBe(false);
    expect(await archive.find(id, payer)).toBeUndefined();
  });

  it('keeps text with U+0000 or half a surrogate pair (a caller may send them, a model write them) and ends such a response', async () => {
    const archive = new ResponseArchive(store);
    const payer = newPayer();
    const id = newApiId('response');
    const nul = 'a\u0000b\ud800';
    const queued = { ...response(id), status: 'queued' as const, instructions: nul, output: [] };
    const said: ContextItem[] = [
      { ...context[0], content: [{ type: 'input_text', text: nul }] } as ContextItem,
    ];
    await archive.save({
      id,
      payer,
      apiKeyId: 'key_1',
      response: queued,
      context: said,
      deadlineAt: 1,
      events: [],
    });
    expect(await archive.started(id, payer, { ...queued, status: 'in_progress' })).toBe(true);
    const done = { ...response(id), instructions: nul };
    const events = [{ type: 'response.output_text.delta', delta: nul } as never];
    expect(await archive.finish(id, payer, done, events)).toBe(true);
    const found = await archive.find(id, payer);
    expect(found?.response).toEqual(done);
    expect(found?.context).toEqual(said);
    expect(await archive.events(id, payer)).toEqual(events);
  });

  it('finishes a background response once, and no other', async () => {
    const archive = new ResponseArchive(store);
    const payer = newPayer();
    const id = newApiId('response');
    const queued = { ...response(id), status: 'queued' as const, output: [] };
    await archive.save({ id, payer, apiKeyId: 'key_1', response: queued, context, deadlineAt: 123 });
    expect((await archive.find(id, payer))?.deadlineAt).toBe(123);
    expect(await archive.finish(id, newPayer(), response(id))).toBe(false);
    expect(await archive.finish(id, payer, response(id))).toBe(true);
    const done = await archive.find(id, payer);
    expect(done?.response).toEqual(response(id));
    expect(done?.deadlineAt).toBeUndefined();
    // Ended: a late end (a cancel after it, a reader's verdict) changes nothing.
    expect(await archive.finish(id, payer, { ...response(id), status: 'cancelled' })).toBe(false);
    const other = newApiId('response');
    await archive.save({ id: other, payer, apiKeyId: 'key_1', response: response(other), context });
    expect(await archive.finish(other, payer, { ...response(other), status: 'failed' })).toBe(false);
  });

  it('marks a queued response begun once, and keeps a streamed one with its events at its end', async () => {
    const archive = new ResponseArchive(store);
    const payer = newPayer();
    const id = newApiId('response');
    const queued = { ...response(id), status: 'queued' as const, output: [] };
    await archive.save({
      id,
      payer,
      apiKeyId: 'key_1',
      response: queued,
      context,
      deadlineAt: 9,
      events: [],
    });
    expect(await archive.find(id, payer)).toMatchObject({ streamed: true, deadlineAt: 9 });
    expect(await archive.events(id, payer)).toEqual([]);
    const begun = { ...queued, status: 'in_progress' as const };
    expect(await archive.started(id, newPayer(), begun)).toBe(false);
    expect(await archive.started(id, payer, begun)).toBe(true);
    // Begun once: and the deadline stays, as the job still runs.
    expect(await archive.started(id, payer, begun)).toBe(false);
    expect(await archive.find(id, payer)).toMatchObject({
      response: { status: 'in_progress' },
      deadlineAt: 9,
    });
    const events = [
      { type: 'response.created' as const, response: queued as never, sequence_number: 0 },
      { type: 'response.completed' as const, response: response(id) as never, sequence_number: 1 },
    ];
    expect(await archive.finish(id, payer, response(id), events)).toBe(true);
    expect(await archive.events(id, payer)).toEqual(events);
    expect(await archive.events(id, newPayer())).toBeUndefined();
    // Ended: a late begin changes nothing.
    expect(await archive.started(id, payer, begun)).toBe(false);

    const whole = newApiId('response');
    await archive.save({ id: whole, payer, apiKeyId: 'key_1', response: response(whole), context });
    expect(await archive.find(whole, payer)).toMatchObject({ streamed: false });
    expect(await archive.events(whole, payer)).toBeUndefined();
  });

  it('keeps the first of two saves under one id', async () => {
    const archive = new ResponseArchive(store);
    const payer = newPayer();
    const id = newApiId('response');
    await archive.save({ id, payer, apiKeyId: 'key_1', response: response(id), context });
    await archive.save({
      id,
      payer: newPayer(),
      apiKeyId: 'key_2',
      response: { ...response(id), model: 'x' },
      context: [],
    });
    expect((await archive.find(id, payer))?.response.model).toBe('tiny');
  });

  it('forgets a response past its retention, and deletes the expired ones after a save', async () => {
    let now = Date.now();
    const archive = new ResponseArchive(store, { retentionMs: 60_000, now: () => now });
    const payer = newPayer();
    const old = newApiId('response');
    await archive.save({ id: old, payer, apiKeyId: 'key_1', response: response(old), context });
    now += 60_001;
    expect(await archive.find(old, payer)).toBeUndefined();
    expect(await archive.remove(old, payer)).toBe(false);
    const [row] = await store.query<{ n: unknown }>('select count(*) as n from responses where id = $1', [
      old,
    ]);
    expect(Number(row?.n)).toBe(1);
    expect(await archive.purgeExpired()).toBeGreaterThanOrEqual(1);
    const [gone] = await store.query<{ n: unknown }>('select count(*) as n from responses where id = $1', [
      old,
    ]);
    expect(Number(gone?.n)).toBe(0);
  });

  it('purges in the background after a save, at most once an hour', async () => {
    let now = Date.now() + 10 * DEFAULT_RESPONSE_RETENTION_MS;
    const archive = new ResponseArchive(store, { retentionMs: 60_000, now: () => now });
    const payer = newPayer();
    const old = newApiId('response');
    await store.query(
      `insert into responses (id, payer, api_key_id, created_at, response, context, status)
       values ($1, $2, 'k', $3, '{}', '[]', 'completed')`,
      [old, payer, now - 120_000],
    );
    const fresh = newApiId('response');
    await archive.save({ id: fresh, payer, apiKeyId: 'key_1', response: response(fresh), context });
    await expect
      .poll(async () => (await store.query('select 1 from responses where id = $1', [old])).length)
      .toBe(0);
    now += 1_000;
    const later = newApiId('response');
    await store.query(
      `insert into responses (id, payer, api_key_id, created_at, response, context, status)
       values ($1, $2, 'k', $3, '{}', '[]', 'completed')`,
      [later, payer, now - 120_000],
    );
    await archive.save({
      id: newApiId('response'),
      payer,
      apiKeyId: 'key_1',
      response: response(fresh),
      context,
    });
    // Within the hour: left for the next purge.
    expect((await store.query('select 1 from responses where id = $1', [later])).length).toBe(1);
  });

  it('refuses a retention that is not a positive whole number of milliseconds', () => {
    for (const retentionMs of [0, -1, 1.5, Number.NaN]) {
      expect(() => new ResponseArchive(store, { retentionMs })).toThrow(RangeError);
    }
  });
});
