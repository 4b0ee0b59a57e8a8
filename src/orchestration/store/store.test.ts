import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type StoreTarget, storeBackends } from '../../../test/support/postgres.ts';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import { migrate } from './migrate.ts';
import { MIGRATIONS } from './migrations.ts';
import { openStore } from './open-store.ts';
import type { Store } from './store.ts';

const MAX_UINT256 = 2n ** 256n - 1n;

describe.each(storeBackends())('store on $kind', (backend) => {
  // One database for the tests that only query; tests about opening get their own.
  let shared: { target: StoreTarget; store: Store };
  const own: StoreTarget[] = [];
  const opened: Store[] = [];
  const fresh = async () => {
    const target = await backend.fresh();
    own.push(target);
    return {
      target,
      open: async () => {
        const store = await target.open();
        opened.push(store);
        return store;
      },
    };
  };

  beforeAll(async () => {
    const target = await backend.fresh();
    shared = { target, store: await target.open() };
  });

  afterAll(async () => {
    await shared?.store.close();
    await shared?.target.dispose();
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    for (const target of own.splice(0)) await target.dispose();
  });

  it('migrates on open and records each version once, also across re-opens', async () => {
    const { open } = await fresh();
    const first = await open();
    expect(first.kind).toBe(backend.kind);
    await first.query(
      "insert into api_keys (id, account, key_hash, key_prefix, created_at) values ('k1', 'a', 'h', 'p', 1)",
    );
    await first.close();

    const second = await open();
    const versions = await second.query<{ version: number }>(
      'select version from schema_migrations order by version',
    );
    expect(versions.map((row) => Number(row.version))).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await second.query('select id from api_keys')).toEqual([{ id: 'k1' }]);
  });

  it('runs concurrent opens of one database through the migration lock', async () => {
    if (backend.kind !== 'postgres') return; // one PGlite directory belongs to one process
    const { open } = await fresh();
    const stores = await Promise.all([open(), open(), open()]);
    const [row] = await stores[0].query<{ n: unknown }>('select count(*) as n from schema_migrations');
    expect(Number(row?.n)).toBe(MIGRATIONS.length);
  });

  it('refuses a database migrated by a newer router', async () => {
    const { open } = await fresh();
    const store = await open();
    await store.query(
      "insert into schema_migrations (version, name, applied_at) values (999, 'from the future', 1)",
    );
    await store.close();
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as FatalError).message).toMatch(/newer than this router knows/);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const { store } = shared;
    const insert =
      "insert into api_keys (id, account, key_hash, key_prefix, created_at) values ($1, 'tx', $2, 'p', 1)";
    await store.transaction((tx) => tx.query(insert, ['tx-ok', 'tx-h1']));
    await expect(
      store.transaction(async (tx) => {
        await tx.query(insert, ['tx-no', 'tx-h2']);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const rows = await store.query<{ id: string }>(
      "select id from api_keys where account = 'tx' order by id",
    );
    expect(rows.map((row) => row.id)).toEqual(['tx-ok']);
  });

  it('keeps a constraint violation inside its transaction', async () => {
    const { store } = shared;
    const insert =
      "insert into api_keys (id, account, key_hash, key_prefix, created_at) values ($1, 'cv', $2, 'p', 1)";
    await store.query(insert, ['cv-one', 'cv-same']);
    await expect(store.transaction((tx) => tx.query(insert, ['cv-two', 'cv-same']))).rejects.toThrow(
      /unique|duplicate/i,
    );
    await store.query(insert, ['cv-three', 'cv-other']);
    expect((await store.query("select id from api_keys where account = 'cv'")).length).toBe(2);
  });

  it('carries uint256 amounts exactly as bigint parameters', async () => {
    const [row] = await shared.store.query<{ v: unknown; w: unknown }>(
      'select $1::numeric(78, 0) as v, $2::numeric as w',
      [MAX_UINT256, 0n],
    );
    expect(BigInt(String(row?.v))).toBe(MAX_UINT256);
    expect(BigInt(String(row?.w))).toBe(0n);
  });
});

describe('openStore', () => {
  it('opens PGlite in memory when given nothing', async () => {
    const store = await openStore();
    try {
      expect(store.kind).toBe('pglite');
      expect(await store.query<{ one: number }>('select 1 as one')).toEqual([{ one: 1 }]);
    } finally {
      await store.close();
      await store.close(); // closing twice is harmless
    }
  });

  it('reports an unreachable server as retryable, without the password', async () => {
    const error = await openStore({ databaseUrl: 'postgres://neurino:hunter2@127.0.0.1:1/none' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).code).toBe('service_unavailable');
    expect((error as RetryableError).message).not.toContain('hunter2');
    expect((error as RetryableError).message).toContain('127.0.0.1:1');
  });
});

describe('migrate', () => {
  it('refuses migrations that are not numbered 1, 2, 3, …', async () => {
    const query = async () => {
      throw new Error('must not touch the database');
    };
    await expect(migrate({ query }, [{ version: 2, name: 'skips one', statements: [] }])).rejects.toThrow(
      /must be 1, 2, 3/,
    );
  });
});
