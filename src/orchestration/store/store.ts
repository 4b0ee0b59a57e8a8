// The router's database as a small interface: plain SQL with $n parameters, the same against PGlite
// (in a worker thread of this process) and a real PostgreSQL server, so every query is written once and tested on both.

import type { PgliteMaintenanceOptions } from './pglite-maintenance.ts';

/** Values the store passes as parameters. bigint travels as its decimal text (numeric/int8 columns). */
export type SqlParam = string | number | boolean | bigint | null;

export interface Queryable {
  /** Rows of one statement. numeric columns come back as strings, int8 as number or string: map them. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
}

export type StoreKind = 'pglite' | 'postgres';

/** What a listener is told (see Store.listen). */
export interface Notifications {
  /** A payload sent on the channel (`pg_notify`). */
  message(payload: string): void;
  /** The listening connection was lost and made again: notifications sent meanwhile may be missing. */
  resumed(): void;
}

export interface Store extends Queryable {
  readonly kind: StoreKind;
  /**
   * Listens on a channel (PostgreSQL's LISTEN) from a connection of its own, made again when lost;
   * resolves once listening, to what stops it. Only where several processes share the store: PGlite,
   * which one process holds, has none.
   */
  listen?(channel: string, handlers: Notifications): Promise<() => Promise<void>>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. On a real server a
   * serialization failure or deadlock retries `fn` a few times, so `fn` must only touch the database.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** postgres://… of a real server; when set, `dataDir` is ignored. */
  databaseUrl?: string | undefined;
  /** PGlite's directory; absent means in memory (gone when closed). */
  dataDir?: string | undefined;
  /** Connections of the PostgreSQL pool (default 10). */
  maxConnections?: number | undefined;
  /** Errors of idle PostgreSQL connections (the pool replaces them); for logging. */
  onIdleError?: ((error: Error) => void) | undefined;
  /** Errors of a PostgreSQL listening connection (see `listen`: it is made again); for logging. */
  onListenError?: ((error: Error) => void) | undefined;
  /** PGlite only (a server runs autovacuum and a checkpointer): when to VACUUM and CHECKPOINT; false: never. */
  maintenance?: PgliteMaintenanceOptions | false | undefined;
}

/** Turns JS values into what both drivers accept the same way. */
export function toSqlParams(
  params: readonly SqlParam[] | undefined,
): Array<string | number | boolean | null> {
  return (params ?? []).map((value) => (typeof value === 'bigint' ? value.toString() : value));
}
