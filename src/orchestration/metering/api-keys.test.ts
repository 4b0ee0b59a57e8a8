import { type Address, getAddress } from 'viem';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { FatalError } from '../../protocol/errors.ts';
import { randomBytes32 } from '../../protocol/ids.ts';
import type { SqlParam, Store } from '../store/store.ts';
import { ApiKeys, hashApiKey, isApiKeyShaped } from './api-keys.ts';

const newAccount = (): Address => getAddress(`0x${randomBytes32().slice(26)}`);

describe.each(storeBackends())('ApiKeys on $kind', (backend) => {
  const db = freshStoreFor(backend);
  let store: Store;
  let keys: ApiKeys;

  beforeAll(async () => {
    store = db.store;
    keys = new ApiKeys(store);
  });

  it('creates a key shown once and stores only its sha256', async () => {
    const account = newAccount();
    const { id, key } = await keys.create({ account, label: 'ci' });
    expect(key).toMatch(/^nrn_[0-9A-Za-z]{40}$/);
    expect(isApiKeyShaped(key)).toBe(true);
    const rows = await store.query<Record<string, unknown>>('select * from api_keys where id = $1', [id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(key.slice(4));
    expect(rows[0]?.key_hash).toBe(hashApiKey(key));
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('authenticates the key to its id and account', async () => {
    const account = newAccount();
    const { id, key } = await keys.create({ account: account.toLowerCase() as Address });
    expect(await keys.authenticate(key)).toEqual({ id, account });
    // Cached or not, the answer is the same.
    expect(await keys.authenticate(key)).toEqual({ id, account });
    expect(await new ApiKeys(store, { cacheMs: 0 }).authenticate(key)).toEqual({ id, account });
  });

  it('refuses unknown and malformed keys', async () => {
    const { key } = await keys.create({ account: newAccount() });
    const flipped = `${key.slice(0, -1)}${key.endsWith('a') ? 'b' : 'a'}`;
    expect(await keys.authenticate(flipped)).toBeUndefined();
    for (const bad of [
      '',
      'nrn_',
      `Bearer ${key}`,
      `${key} `,
      `${key}x`,
      key.toUpperCase(),
      `sk_${key.slice(4)}`,
    ]) {
      expect(await keys.authenticate(bad)).toBeUndefined();
    }
    expect(await keys.authenticate(undefined as unknown as string)).toBeUndefined();
    expect(await keys.authenticate(42 as unknown as string)).toBeUndefined();
  });

  it('revokes a key at once, even one this process has cached', async () => {
    const { id, key } = await keys.create({ account: newAccount() });
    expect(await keys.authenticate(key)).toBeDefined();
    expect(await keys.revoke(id)).toBe(true);
    expect(await keys.authenticate(key)).toBeUndefined();
    expect(await keys.revoke(id)).toBe(false);
    expect(await keys.revoke('key_unknown')).toBe(false);
  });

  it('sees a revoke by another router once its cache has expired', async () => {
    const { id, key } = await keys.create({ account: newAccount() });
    const uncached = new ApiKeys(store, { cacheMs: 0 });
    expect(await uncached.authenticate(key)).toBeDefined();
    await new ApiKeys(store).revoke(id);
    expect(await uncached.authenticate(key)).toBeUndefined();
  });

  it("lists an account's keys, newest first, revoked ones marked, never the key", async () => {
    const account = newAccount();
    const first = await keys.create({ account, label: 'first' });
    const second = await keys.create({ account });
    await keys.create({ account: newAccount() });
    await keys.revoke(first.id);
    const listed = await keys.find({ account, limit: 10 });
    expect(listed.map((k) => k.id).sort()).toEqual([first.id, second.id].sort());
    const revoked = listed.find((k) => k.id === first.id);
    expect(revoked?.label).toBe('first');
    expect(revoked?.revokedAt).toBeTypeOf('number');
    expect(listed.find((k) => k.id === second.id)?.revokedAt).toBeUndefined();
    expect(listed.every((k) => k.account === account)).toBe(true);
    expect(revoked?.prefix).toBe(first.key.slice(0, 8));
    expect(listed.find((k) => k.id === second.id)?.prefix).toBe(second.key.slice(0, 8));
    expect(JSON.stringify(listed)).not.toContain(second.key);
    expect(await keys.find({ account: 'not an address' as Address, limit: 10 })).toEqual([]);
  });

  it('finds keys for operators: by account, by a leaked key or its prefix, in pages', async () => {
    const account = newAccount();
    const made = [];
    for (let i = 0; i < 3; i++) {
      made.push(await keys.create({ account }));
      await new Promise((r) => setTimeout(r, 2));
    }
    const newest = made.map((k) => k.id).reverse();
    expect((await keys.find({ account, limit: 10 })).map((k) => k.id)).toEqual(newest);
    const page = await keys.find({ account, limit: 2 });
    expect(page.map((k) => k.id)).toEqual(newest.slice(0, 2));
    const rest = await keys.find({ account, limit: 2, after: page[1]?.id });
    expect(rest.map((k) => k.id)).toEqual(newest.slice(2));
    const leaked = made[1] as { id: string; key: string };
    for (const prefix of [leaked.key, leaked.key.slice(0, 8), leaked.key.slice(0, 12)]) {
      expect(
        (await keys.find({ prefix, limit: 5 })).map((k) => k.id),
        prefix,
      ).toContain(leaked.id);
    }
    // A whole key is looked up by its hash: one character off finds nothing.
    const last = leaked.key.at(-1) === 'a' ? 'b' : 'a';
    expect(await keys.find({ prefix: `${leaked.key.slice(0, -1)}${last}`, limit: 5 })).toEqual([]);
    expect((await keys.find({ limit: 1 }))[0]?.id).toBe(newest[0]);
    expect(await keys.exists(leaked.id)).toBe(true);
    expect(await keys.exists('key_doesnotexist000000000000')).toBe(false);
  });

  it('refuses a bad account or an overlong label', async () => {
    await expect(keys.create({ account: '0x1234' as Address })).rejects.toBeInstanceOf(FatalError);
    await expect(keys.create({ account: newAccount(), label: 'x'.repeat(201) })).rejects.toMatchObject({
      code: 'invalid_request',
      param: 'label',
    });
  });

  describe('under a stream of requests', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /** The store, counting key lookups; after `hold()` their answers wait until `release()`. */
    function countingStore() {
      let lookups = 0;
      let gate: Promise<void> | undefined;
      let open: () => void = () => undefined;
      const counted: Store = {
        ...store,
        transaction: store.transaction.bind(store),
        close: store.close.bind(store),
        query: async <T>(sql: string, params?: readonly SqlParam[]) => {
          const rows = await store.query<T>(sql, params);
          if (sql.startsWith('select * from api_keys where key_hash')) {
            lookups++;
            // Read already: the answer is held back, as a slow store or a busy event loop would.
            if (gate !== undefined) await gate;
          }
          return rows;
        },
      };
      return {
        store: counted,
        lookups: () => lookups,
        hold: () => {
          gate = new Promise<void>((resolve) => {
            open = resolve;
          });
        },
        release: () => {
          gate = undefined;
          open();
        },
      };
    }

    it('shares one store lookup among the callers that need it at once', async () => {
      const { id, key } = await keys.create({ account: newAccount() });
      const counted = countingStore();
      const cold = new ApiKeys(counted.store);
      const answers = await Promise.all(Array.from({ length: 20 }, () => cold.authenticate(key)));
      expect(answers.every((answer) => answer?.id === id)).toBe(true);
      expect(counted.lookups()).toBe(1);
    });

    it('looks a busy key up again before its cache expires, without making a caller wait', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const { id, key } = await keys.create({ account: newAccount() });
      const counted = countingStore();
      const warm = new ApiKeys(counted.store, { cacheMs: 1_000 });
      const start = Date.now();
      expect((await warm.authenticate(key))?.id).toBe(id);
      expect(counted.lookups()).toBe(1);
      // Past three quarters of cacheMs: answered from the cache while one lookup runs behind it.
      vi.setSystemTime(start + 800);
      counted.hold();
      expect((await warm.authenticate(key))?.id).toBe(id);
      expect((await warm.authenticate(key))?.id).toBe(id);
      while (counted.lookups() < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(counted.lookups()).toBe(2);
      counted.release();
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Renewed: past the first entry's expiry, still no caller waits.
      vi.setSystemTime(start + 1_200);
      counted.hold();
      expect((await warm.authenticate(key))?.id).toBe(id);
      counted.release();
    });

    it('never serves an entry past cacheMs: a revoke elsewhere is seen within it', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const { id, key } = await keys.create({ account: newAccount() });
      const warm = new ApiKeys(store, { cacheMs: 1_000 });
      const start = Date.now();
      expect(await warm.authenticate(key)).toBeDefined();
      await new ApiKeys(store).revoke(id);
      vi.setSystemTime(start + 500);
      expect(await warm.authenticate(key)).toBeDefined();
      vi.setSystemTime(start + 1_001);
      expect(await warm.authenticate(key)).toBeUndefined();
    });

    it('does not cache what a lookup read before a revoke in this process, nor hand it to later callers', async () => {
      const { id, key } = await keys.create({ account: newAccount() });
      const counted = countingStore();
      const local = new ApiKeys(counted.store);
      counted.hold();
      const before = local.authenticate(key);
      // The lookup has read the key as active; the revoke goes through before its answer is back.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await local.revoke(id)).toBe(true);
      counted.release();
      await before;
      expect(await local.authenticate(key)).toBeUndefined();
      expect(counted.lookups()).toBe(2);
    });
  });
});
