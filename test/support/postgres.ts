// The stores every store test runs against: PGlite always, PostgreSQL when the suite's global setup
// started a server (or NEURINO_TEST_DATABASE_URL names one). Each target is a fresh, empty database.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { openStore } from '../../src/orchestration/store/open-store.ts';
import type { Store, StoreKind } from '../../src/orchestration/store/store.ts';
import { randomBase62 } from '../../src/protocol/ids.ts';
import { DATABASE_URL_ENV, PROVIDED_DATABASE_URL } from './postgres-env.ts';

/** One empty database; `open` may be called again after `close` to simulate a router restart. */
export interface StoreTarget {
  /** Set for PostgreSQL: what a router process is given as `--database-url`. */
  databaseUrl?: string;
  open(): Promise<Store>;
  /** Deletes the database (PGlite directory or PostgreSQL database). */
  dispose(): Promise<void>;
}

export interface StoreBackend {
  kind: StoreKind;
  fresh(): Promise<StoreTarget>;
}

export function testDatabaseUrl(): string | undefined {
  let provided: string | null | undefined;
  try {
    provided = inject(PROVIDED_DATABASE_URL);
  } catch {
    provided = undefined;
  }
  return provided ?? process.env[DATABASE_URL_ENV] ?? undefined;
}

export const pgliteBackend: StoreBackend = {
  kind: 'pglite',
  async fresh() {
    const dataDir = await mkdtemp(join(tmpdir(), 'neurino-pglite-'));
    return {
      open: () => openStore({ dataDir }),
      dispose: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
};

export function postgresBackend(serverUrl: string): StoreBackend {
  return {
    kind: 'postgres',
    async fresh() {
      const name = `neurino_test_${randomBase62(12).toLowerCase()}`;
      await admin(serverUrl, `create database ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return {
        databaseUrl: url.toString(),
        open: () => openStore({ databaseUrl: url.toString() }),
        dispose: () => admin(serverUrl, `drop database if exists ${name} with (force)`),
      };
    },
  };
}

/** PGlite, plus PostgreSQL when a test server is available: for `describe.each`. */
export function storeBackends(): StoreBackend[] {
  const url = testDatabaseUrl();
  return url ? [pgliteBackend, postgresBackend(url)] : [pgliteBackend];
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database of `backend` opened for the calling describe block (vitest hooks): opened before its
 * tests, closed and deleted after them. Read `store` inside the tests.
 */
export function freshStoreFor(backend: StoreBackend): { readonly store: Store } {
  let target: StoreTarget | undefined;
  let store: Store | undefined;
  beforeAll(async () => {
    target = await backend.fresh();
    store = await target.open();
  });
  afterAll(async () => {
    await store?.close();
    await target?.dispose();
  });
  return {
    get store(): Store {
      if (store === undefined) throw new Error('the store opens in beforeAll: read it inside a test');
      return store;
    },
  };
}
