// PGlite: PostgreSQL compiled to wasm, in a worker thread of this process so SQL runs beside the router's
// JavaScript instead of freezing its event loop. One session, so transactions run one at a time; a
// statement from outside waits for the transaction running (and those queued) before it.
import { mkdir } from 'node:fs/promises';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import { migrate } from './migrate.ts';
import { transactionAbortedError } from './pglite-error.ts';
import { PgliteMaintenance, type PgliteMaintenanceOptions } from './pglite-maintenance.ts';
import { PgliteWorkerClient } from './pglite-worker-client.ts';
import { SessionGate } from './session-gate.ts';
import { type Queryable, type SqlParam, type Store, toSqlParams } from './store.ts';

/** The worker behind each open store, for the test-only crash hook. */
const workers = new WeakMap<Store, PgliteWorkerClient>();

export interface PgliteStoreOptions {
  /** When to VACUUM and CHECKPOINT (PGlite runs no autovacuum and no checkpointer); false: never. */
  maintenance?: PgliteMaintenanceOptions | false | undefined;
}

export async function openPgliteStore(dataDir?: string, options: PgliteStoreOptions = {}): Promise<Store> {
  let client: PgliteWorkerClient;
  try {
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
    client = await PgliteWorkerClient.start(dataDir);
  } catch (cause) {
    throw new RetryableError('service_unavailable', {
      message: `cannot open the PGlite store${dataDir === undefined ? '' : ` in ${dataDir}`}`,
      cause,
    });
  }
  const gate = new SessionGate();
  let closing: Promise<void> | undefined;
  const closed = () => new RetryableError('service_unavailable', { message: 'the PGlite store is closed' });

  const query = <T>(sql: string, params?: readonly SqlParam[]): Promise<T[]> => {
    if (closing !== undefined) return Promise.reject(closed());
    return gate.pass(async () => (await client.query(sql, toSqlParams(params), false)).rows as T[]);
  };
  let maintenance: PgliteMaintenance | undefined;
  try {
    await migrate({ query });
    maintenance =
      options.maintenance === false ? undefined : new PgliteMaintenance(query, options.maintenance);
  } catch (error) {
    await client.close().catch(() => {}); // the migration's (or the options') error is the one to report
    throw error;
  }

  const store: Store = {
    kind: 'pglite',
    query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      if (closing !== undefined) throw closed();
      await gate.hold();
      try {
        return await runTransaction(client, fn);
      } finally {
        gate.release();
      }
    },
    close() {
      maintenance?.stop();
      // After the transactions already running or queued, as PGlite's own close().
      closing ??= gate.hold().then(() => client.close());
      return closing;
    },
  };
  workers.set(store, client);
  return store;
}

/**
 * Commits when `fn` resolves, rolls back when it throws (its error reaches the caller as thrown). BEGIN
 * rides with the first statement, so a transaction costs one round trip per statement plus COMMIT.
 */
async function runTransaction<T>(client: PgliteWorkerClient, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  let begun = false;
  let open = true;
  const tx: Queryable = {
    async query<R>(sql: string, params?: readonly SqlParam[]): Promise<R[]> {
      if (!open) {
        throw new FatalError('internal_error', {
          message: 'the transaction is over: its statements belong inside its callback',
        });
      }
      const begin = !begun;
      begun = true;
      return (await client.query(sql, toSqlParams(params), begin)).rows as R[];
    },
  };
  try {
    const result = await fn(tx);
    open = false;
    // PostgreSQL answers COMMIT of a transaction that hit an error with ROLLBACK; PGlite raises 25P02.
    if (begun && (await client.query('commit', [], false)).command === 'ROLLBACK') {
      throw transactionAbortedError();
    }
    return result;
  } catch (error) {
    if (open) {
      open = false;
      // A rollback that fails (the worker died) changes nothing for the caller: fn's error is the news.
      if (begun) await client.query('rollback', [], false).catch(() => {});
    }
    throw error;
  }
}

/** Tests only: kills the store's worker thread as a crash would. */
export async function crashPgliteWorkerForTesting(store: Store): Promise<void> {
  const client = workers.get(store);
  if (client === undefined) throw new FatalError('internal_error', { message: 'not a PGlite store' });
  await client.crashForTesting();
}
