// Brings a database to the latest schema. Runs under a session advisory lock so routers starting
// together against one server migrate once; each migration commits with its version row.
import { FatalError } from '../../protocol/errors.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';
import type { Queryable } from './store.ts';

/** Arbitrary but fixed: the advisory lock key every Neurino router uses for migrations. */
const MIGRATION_LOCK_KEY = 7_362_105_118;

/** `session` must be ONE connection: the lock and BEGIN/COMMIT belong to it. Returns versions applied. */
export async function migrate(
  session: Queryable,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  checkOrder(migrations);
  await session.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await session.query(
      `create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        applied_at bigint not null
      )`,
    );
    const rows = await session.query<{ version: number }>('select version from schema_migrations');
    const done = new Set(rows.map((row) => Number(row.version)));
    const newest = Math.max(0, ...done);
    const known = migrations.at(-1)?.version ?? 0;
    if (newest > known) {
      throw new FatalError('internal_error', {
        message: `database schema version ${newest} is newer than this router knows (${known}): upgrade the router`,
      });
    }
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await session.query('begin');
      try {
        for (const statement of migration.statements) await session.query(statement);
        await session.query('insert into schema_migrations (version, name, applied_at) values ($1, $2, $3)', [
          migration.version,
          migration.name,
          Date.now(),
        ]);
        await session.query('commit');
      } catch (error) {
        await session.query('rollback');
        throw error;
      }
      applied.push(migration.version);
    }
    return applied;
  } finally {
    await session.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new FatalError('internal_error', {
        message: `migration versions must be 1, 2, 3, …: found ${migration.version} at position ${index}`,
      });
    }
  });
}
