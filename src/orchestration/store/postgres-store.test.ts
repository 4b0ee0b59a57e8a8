import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { postgresBackend, testDatabaseUrl } from '../../../test/support/postgres.ts';
import { RetryableError } from '../../protocol/errors.ts';
import { openPostgresStore } from './postgres-store.ts';

describe('openPostgresStore', () => {
  it('answers an unreachable server with service_unavailable that shows no secret of the URL', async () => {
    const port = await freePort();
    const url = `postgres://neurino:pw-in-userinfo@127.0.0.1:${port}/db?password=pw-in-query&sslmode=disable`;
    const error = await openPostgresStore(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).code).toBe('service_unavailable');
    const { message } = error as RetryableError;
    expect(message).toContain(`cannot reach PostgreSQL at postgres://neurino:***@127.0.0.1:${port}/db`);
    expect(message).not.toMatch(/pw-in-/);
  });
});

const serverUrl = testDatabaseUrl();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(serverUrl !== undefined)('openPostgresStore when the server ends its connections', () => {
  it('fails the transaction caught between statements as unavailable, and goes on working', async () => {
    const target = await postgresBackend(serverUrl as string).fresh();
    const store = await target.open();
    try {
      // A restart, a failover or an administrator ends the session while the transaction computes.
      const failed = await store
        .transaction(async (tx) => {
          const [row] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
          await store.query('select pg_terminate_backend($1)', [row?.pid ?? 0]);
          await sleep(200);
          await tx.query('select 1');
        })
        .catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(RetryableError);
      expect(failed).toMatchObject({ code: 'service_unavailable' });

      // Idle connections ended too: the pool drops them and opens new ones.
      await store.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      await sleep(200);
      expect(await store.query('select 1 as one')).toEqual([{ one: 1 }]);
      expect(await store.transaction((tx) => tx.query('select 2 as two'))).toEqual([{ two: 2 }]);
    } finally {
      await store.close();
      await target.dispose();
    }
  });
});
