// Two routers sharing a PostgreSQL server, each with its own key cache: a key revoked through one, by
// hand in SQL, or deleted, is refused by the other at once rather than when its cached answer expires;
// after the announcements' connection is lost and made again, nothing cached before is trusted.
import { getAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBackend, type StoreTarget, testDatabaseUrl } from '../../../test/support/postgres.ts';
import { randomBytes32 } from '../../protocol/ids.ts';
import type { Store } from '../store/store.ts';
import { ApiKeys } from './api-keys.ts';

const serverUrl = testDatabaseUrl();
const newAccount = () => getAddress(`0x${randomBytes32().slice(26)}`);
/** Far longer than any test: a key refused within it was forgotten on an announcement. */
const CACHE_MS = 600_000;

describe.runIf(serverUrl !== undefined)('key revocations announced between routers on PostgreSQL', () => {
  let target: StoreTarget;
  let storeA: Store;
  let storeB: Store;
  let routerA: ApiKeys;
  let routerB: ApiKeys;
  let stopWatching: () => Promise<void>;

  beforeAll(async () => {
    target = await postgresBackend(serverUrl as string).fresh();
    storeA = await target.open();
    storeB = await target.open();
    routerA = new ApiKeys(storeA, { cacheMs: CACHE_MS });
    routerB = new ApiKeys(storeB, { cacheMs: CACHE_MS });
    stopWatching = await routerB.watchRevocations();
  });

  afterAll(async () => {
    await stopWatching?.();
    await storeA?.close();
    await storeB?.close();
    await target?.dispose();
  });

  /** A key router B holds in its cache (it answers without the store). */
  async function cachedOnB() {
    const created = await routerA.create({ account: newAccount() });
    expect(await routerB.authenticate(created.key)).toMatchObject({ id: created.id });
    expect(routerB.known(created.key)).toMatchObject({ id: created.id });
    return created;
  }

  it('forgets a key revoked through another router', async () => {
    const { id, key } = await cachedOnB();
    expect(await routerA.revoke(id)).toBe(true);
    await expect.poll(() => routerB.known(key)).toBeUndefined();
    expect(await routerB.authenticate(key)).toBeUndefined();
  });

  it('forgets a key revoked or deleted by hand in SQL', async () => {
    const revoked = await cachedOnB();
    await storeA.query('update api_keys set revoked_at = 1 where id = $1', [revoked.id]);
    await expect.poll(() => routerB.known(revoked.key)).toBeUndefined();
    expect(await routerB.authenticate(revoked.key)).toBeUndefined();

    const deleted = await cachedOnB();
    await storeA.query('delete from api_keys where id = $1', [deleted.id]);
    await expect.poll(() => routerB.known(deleted.key)).toBeUndefined();
    expect(await routerB.authenticate(deleted.key)).toBeUndefined();
  });

  it('keeps a key whose row changed otherwise, and a key revoked again stays forgotten', async () => {
    const { id, key } = await cachedOnB();
    await storeA.query("update api_keys set label = 'renamed' where id = $1", [id]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(routerB.known(key)).toMatchObject({ id });
  });

  it('trusts nothing it cached once its announcements were cut, and hears them again after', async () => {
    const before = await cachedOnB();
    // A restart, a failover or an administrator ends the listening session.
    await storeA.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
       where datname = current_database() and query ilike 'listen%'`,
    );
    await expect.poll(() => routerB.known(before.key), { timeout: 5_000 }).toBeUndefined();
    // Still valid: read again from the store.
    expect(await routerB.authenticate(before.key)).toMatchObject({ id: before.id });

    const after = await cachedOnB();
    await expect
      .poll(
        async () =>
          (
            await storeA.query(
              "select 1 from pg_stat_activity where datname = current_database() and query ilike 'listen%'",
            )
          ).length,
      )
      .toBe(1);
    await routerA.revoke(after.id);
    await expect.poll(() => routerB.known(after.key)).toBeUndefined();
  });

  it('stops listening when asked, and when its store closes', async () => {
    const listening = async () =>
      (
        await storeA.query(
          "select 1 from pg_stat_activity where datname = current_database() and query ilike 'listen%'",
        )
      ).length;
    const storeC = await target.open();
    const stop = await new ApiKeys(storeC).watchRevocations();
    await expect.poll(listening).toBe(2);
    await stop();
    await expect.poll(listening).toBe(1);
    await new ApiKeys(storeC).watchRevocations();
    await expect.poll(listening).toBe(2);
    await storeC.close();
    await expect.poll(listening).toBe(1);
  });
});
