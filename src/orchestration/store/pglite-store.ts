// PGlite: PostgreSQL compiled to wasm, in this process. One session, so transactions run one at a time.
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { RetryableError } from '../../protocol/errors.ts';
import { migrate } from './migrate.ts';
import { type Queryable, type SqlParam, type Store, toSqlParams } from './store.ts';

export async function openPgliteStore(dataDir?: string): Promise<Store> {
  let db: PGlite;
  try {
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
    db = await PGlite.create(dataDir);
  } catch (cause) {
    throw new RetryableError('service_unavailable', {
      message: `cannot open the PGlite store${dataDir === undefined ? '' : ` in ${dataDir}`}`,
      cause,
    });
  }
  const query = async <T>(sql: string, params?: readonly SqlParam[]): Promise<T[]> =>
    (await db.query<T>(sql, toSqlParams(params))).rows;
  try {
    await migrate({ query });
  } catch (error) {
    await db.close();
    throw error;
  }
  let closed = false;
  return {
    kind: 'pglite',
    query,
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      db.transaction((tx) =>
        fn({
          query: async <R>(sql: string, params?: readonly SqlParam[]) =>
            (await tx.query<R>(sql, toSqlParams(params))).rows,
        }),
      ),
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
