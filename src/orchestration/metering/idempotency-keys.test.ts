// Idempotency keys of the jobs API on both stores: one job per payer and key, the same request told from
// another, a key freed for its own job only, and taken over once older than a day.
import { getAddress } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import type { Store } from '../store/store.ts';
import { IDEMPOTENCY_KEY_TTL_MS, IdempotencyKeys } from './idempotency-keys.ts';

const newPayer = () => getAddress(`0x${randomBytes32().slice(26)}`);
const request = { pod: 'llm', input: { messages: [{ role: 'user', content: 'hi' }] } };

describe.each(storeBackends())('IdempotencyKeys on $kind', (backend) => {
  const db = freshStoreFor(backend);
  let store: Store;

  beforeAll(() => {
    store = db.store;
  });

  it('names one job per payer and key, and tells the same request from another', async () => {
    const keys = new IdempotencyKeys(store);
    const payer = newPayer();
    const first = newApiId('job');
    expect(await keys.claim({ payer, key: 'k1', request, publicId: first })).toEqual({ claimed: true });
    const again = await keys.claim({ payer, key: 'k1', request: { ...request }, publicId: newApiId('job') });
    expect(again).toMatchObject({ claimed: false, publicId: first, sameRequest: true });
    const other = await keys.claim({
      payer,
      key: 'k1',
      request: { ...request, pod: 'x' },
      publicId: newApiId('job'),
    });
    expect(other).toMatchObject({ claimed: false, publicId: first, sameRequest: false });
    // Another payer's key of the same name is theirs.
    expect(await keys.claim({ payer: newPayer(), key: 'k1', request, publicId: newApiId('job') })).toEqual({
      claimed: true,
    });
  });

  it('frees a key for its own job only, and takes over a claim older than a day', async () => {
    let now = 1_000_000_000_000;
    const keys = new IdempotencyKeys(store, { now: () => now });
    const payer = newPayer();
    const first = newApiId('job');
    await keys.claim({ payer, key: 'k2', request, publicId: first });
    await keys.forget({ payer, key: 'k2', publicId: newApiId('job') });
    expect((await keys.claim({ payer, key: 'k2', request, publicId: newApiId('job') })).claimed).toBe(false);
    await keys.forget({ payer, key: 'k2', publicId: first });
    const second = newApiId('job');
    expect(await keys.claim({ payer, key: 'k2', request, publicId: second })).toEqual({ claimed: true });
    now += IDEMPOTENCY_KEY_TTL_MS + 1;
    expect(
      await keys.claim({ payer, key: 'k2', request: { other: true }, publicId: newApiId('job') }),
    ).toEqual({
      claimed: true,
    });
  });
});
