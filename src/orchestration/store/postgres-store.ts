// A real PostgreSQL server through a node-postgres pool: how several routers share one state.
import pg from 'pg';
import { RetryableError } from '../../protocol/errors.ts';
import { redactUrl } from '../../protocol/redact-url.ts';
import { migrate } from './migrate.ts';
import { listenOn } from './postgres-listener.ts';
import { type Queryable, type SqlParam, type Store, toSqlParams } from './store.ts';

/** serialization_failure, deadlock_detected: the server asks us to run the transaction again. */
const RETRY_SQLSTATES = new Set(['40001', '40P01']);
const MAX_TRANSACTION_ATTEMPTS = 4;
/** admin_shutdown, crash_shutdown, cannot_connect_now: the server went away or is restarting. */
const SERVER_GONE_SQLSTATES = new Set(['57P01', '57P02', '57P03']);

export interface PostgresStoreOptions {
  maxConnections?: number;
  /** Errors of idle connections (server restart, network): the pool replaces them; we only report. */
  onIdleError?: (error: Error) => void;
  /** Errors of a listening connection (lost, or failing to be made again: it is retried). */
  onListenError?: (error: Error) => void;
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
  // The server ending the session mid-migration fails the open, not the process.
  const migrating = checkedOut(session);
  try {
    await migrate(clientQueryable(session));
  } catch (error) {
    const { lost } = migrating;
    migrating.release(true);
    await pool.end();
    throw lost === undefined && !lostServer(error) ? error : unavailable(lost ?? error);
  }
  migrating.release();

  let closed = false;
  const listeners = new Set<() => Promise<void>>();
  return {
    kind: 'postgres',
    async listen(channel, handlers) {
      let stop: () => Promise<void>;
      try {
        stop = await listenOn(databaseUrl, channel, handlers, {
          ...(options.onListenError === undefined ? {} : { onError: options.onListenError }),
        });
      } catch (cause) {
        throw lostServer(cause) ? unavailable(cause) : cause;
      }
      const stopOnce = async () => {
        if (listeners.delete(stopOnce)) await stop();
      };
      listeners.add(stopOnce);
      return stopOnce;
    },
    async query<T>(sql: string, params?: readonly SqlParam[]) {
      try {
        return (await pool.query(sql, toSqlParams(params))).rows as T[];
      } catch (error) {
        throw lostServer(error) ? unavailable(error) : error;
      }
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        let client: pg.PoolClient;
        try {
          client = await pool.connect();
        } catch (cause) {
          throw unavailable(cause);
        }
        // The server ending the connection between statements fails the transaction (see checkedOut).
        const held = checkedOut(client);
        try {
          await client.query('begin');
          const result = await fn(clientQueryable(client));
          await client.query('commit');
          return result;
        } catch (error) {
          const broken = held.lost;
          if (broken === undefined) await client.query('rollback').catch(() => {});
          if (broken !== undefined || lostServer(error)) throw unavailable(broken ?? error);
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
          held.release();
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...listeners].map((stop) => stop()));
      await pool.end();
    },
  };
}

/**
 * A connection taken from the pool, which keeps no listener on it meanwhile: the server ending it (a
 * restart, a failover, an administrator) would otherwise be an unhandled 'error' that ends the process.
 * Recorded here instead; `release` returns it to the pool, or destroys it when it broke or `destroy`.
 */
function checkedOut(client: pg.PoolClient): {
  readonly lost: Error | undefined;
  release(destroy?: boolean): void;
} {
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on('error', onError);
  return {
    get lost() {
      return lost;
    },
    release(destroy = false) {
      client.removeListener('error', onError);
      client.release(lost ?? destroy);
    },
  };
}

/**
 * A failure of the connection rather than of the statement: the server gone (57P0x), the connection lost
 * (class 08), or no SQLSTATE at all from a socket that broke. The store is unavailable, not the data bad.
 */
function lostServer(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return SERVER_GONE_SQLSTATES.has(code) || code.startsWith('08');
  }
  return /Connection terminated|not queryable|ECONNRESET|ECONNREFUSED|EPIPE/.test(
    `${error.message} ${String(code ?? '')}`,
  );
}

function clientQueryable(client: pg.PoolClient): Queryable {
  return {
    async query<T>(sql: string, params?: readonly SqlParam[]) {
      return (await client.query(sql, toSqlParams(params))).rows as T[];
    },
  };
}
