// A real PostgreSQL server through a node-postgres pool: how several routers share one state.
import pg from 'pg';
import { RetryableError } from '../../protocol/errors.ts';
import { redactUrl } from '../../protocol/redact-url.ts';
import { migrate } from './migrate.ts';
import { type Queryable, type SqlParam, type Store, toSqlParams } from './store.ts';

/** serialization_failure, deadlock_detected: the server asks us to run the transaction again. */
const RETRY_SQLSTATES = new Set(['40001', '40P01']);
const MAX_TRANSACTION_ATTEMPTS = 4;

export interface PostgresStoreOptions {
  maxConnections?: number;
  /** Errors of idle connections (server restart, network): the pool replaces them; we only report. */
  onIdleError?: (error: Error) => void;
}

export async function openPostgresStore(
  databaseUrl: string,
  options: PostgresStoreOptions = {},
): Promise<Store> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.maxConnections ?? 10 });
  pool.on('error', (error) => options.onIdleError?.(error));
  const unavailable = (cause: unknown) =>
    new RetryableError('service_unavailable', {
      message: `cannot reach PostgreSQL at ${redactUrl(databaseUrl)}`,
      cause,
    });

  let session: pg.PoolClient;
  try {
    session = await pool.connect();
  } catch (cause) {
    await pool.end();
    throw unavailable(cause);
  }
  try {
    await migrate(clientQueryable(session));
  } catch (error) {
    session.release();
    await pool.end();
    throw error;
  }
  session.release();

  let closed = false;
  return {
    kind: 'postgres',
    async query<T>(sql: string, params?: readonly SqlParam[]) {
      return (await pool.query(sql, toSqlParams(params))).rows as T[];
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        try {
          await client.query('begin');
          const result = await fn(clientQueryable(client));
          await client.query('commit');
          return result;
        } catch (error) {
          await client.query('rollback').catch(() => {});
          const sqlState = (error as { code?: unknown }).code;
          if (
            attempt < MAX_TRANSACTION_ATTEMPTS &&
            typeof sqlState === 'string' &&
            RETRY_SQLSTATES.has(sqlState)
          ) {
            continue;
          }
          throw error;
        } finally {
          client.release();
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

function clientQueryable(client: pg.PoolClient): Queryable {
  return {
    async query<T>(sql: string, params?: readonly SqlParam[]) {
      return (await client.query(sql, toSqlParams(params))).rows as T[];
    },
  };
}
