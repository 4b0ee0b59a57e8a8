// The one entry point: PGlite unless a PostgreSQL URL is given. Migrations run before it returns.
import { openPgliteStore } from './pglite-store.ts';
import { openPostgresStore } from './postgres-store.ts';
import type { OpenStoreOptions, Store } from './store.ts';

export function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  if (options.databaseUrl !== undefined && options.databaseUrl !== '') {
    const { maxConnections, onIdleError, onListenError } = options;
    return openPostgresStore(options.databaseUrl, {
      ...(maxConnections === undefined ? {} : { maxConnections }),
      ...(onIdleError === undefined ? {} : { onIdleError }),
      ...(onListenError === undefined ? {} : { onListenError }),
    });
  }
  return openPgliteStore(options.dataDir, { maintenance: options.maintenance });
}
