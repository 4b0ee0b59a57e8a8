// What running PGlite in a worker thread must keep (one session, transactions one at a time, SQLSTATE codes)
// and what it adds (the router's thread stays free; a dead worker fails calls instead of hanging them).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import { PgliteError } from './pglite-error.ts';
import { crashPgliteWorkerForTesting, openPgliteStore } from './pglite-store.ts';
import { isDataError, isUniqueViolation } from './sql-values.ts';
import type { Store } from './store.ts';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A few turns of the event loop: time for anything wrongly let through to start. */
async function turns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const INSERT_KEY =
  'insert into api_keys (id, account, key_hash, key_prefix, created_at) values ($1, $2, $3, $4, 1)';
const insertKey = (id: string, account: string) => [id, account, `hash-${id}`, 'p'];
const idsOf = async (store: Store, account: string) =>
  (
    await store.query<{ id: string }>('select id from api_keys where account = $1 order by id', [account])
  ).map((row) => row.id);

function expectUnavailable(error: unknown): void {
  expect(error).toBeInstanceOf(RetryableError);
  expect((error as RetryableError).code).toBe('service_unavailable');
}

describe('PGlite store in a worker thread', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openPgliteStore();
  });
  afterAll(async () => {
    await store?.close();
  });

  describe('one session', () => {
    it('runs concurrent transactions one at a time: the second starts only after the first ends', async () => {
      const inserted = deferred();
      const finish = deferred();
      const events: string[] = [];
      const first = store.transaction(async (tx) => {
        await tx.query(INSERT_KEY, insertKey('ser-a', 'ser'));
        inserted.resolve();
        await finish.promise;
        events.push('first ends');
        throw new Error('first rolls back');
      });
      const second = store.transaction(async (tx) => {
        events.push('second starts');
        const seen = await tx.query<{ id: string }>("select id from api_keys where account = 'ser'");
        await tx.query(INSERT_KEY, insertKey('ser-b', 'ser'));
        return seen.map((row) => row.id);
      });
      await inserted.promise;
      await turns();
      expect(events).toEqual([]);
      finish.resolve();

      await expect(first).rejects.toThrow('first rolls back');
      expect(await second).toEqual([]); // never saw the first one's uncommitted row
      expect(events).toEqual(['first ends', 'second starts']);
      expect(await idsOf(store, 'ser')).toEqual(['ser-b']);
    });

    it('loses no update when many transactions read and write the same row at once', async () => {
      await store.query('create table if not exists worker_counter (id int primary key, n int not null)');
      await store.query('insert into worker_counter values (1, 0) on conflict (id) do update set n = 0');
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.transaction(async (tx) => {
            const [row] = await tx.query<{ n: number }>('select n from worker_counter where id = 1');
            await turns(1); // another transaction would slip in here if they were not serialised
            await tx.query('update worker_counter set n = $1 where id = 1', [(row?.n ?? 0) + 1]);
          }),
        ),
      );
      expect(await store.query('select n from worker_counter where id = 1')).toEqual([{ n: 20 }]);
    });

    it('makes a statement from outside wait for the running transaction instead of running inside it', async () => {
      const inserted = deferred();
      const finish = deferred();
      let answered = false;
      const transaction = store.transaction(async (tx) => {
        await tx.query(INSERT_KEY, insertKey('out-a', 'out'));
        inserted.resolve();
        await finish.promise;
        throw new Error('rolled back');
      });
      await inserted.promise;
      const outside = idsOf(store, 'out').then((ids) => {
        answered = true;
        return ids;
      });
      await turns();
      expect(answered).toBe(false);
      finish.resolve();
      await expect(transaction).rejects.toThrow('rolled back');
      expect(await outside).toEqual([]); // it ran after the rollback
    });

    it('rolls back when a transaction that used the outer store (its own bug) throws', async () => {
      const thrown = new Error('nested use, then a throw');
      let nested: Promise<string[]> | undefined;
      const transaction = store.transaction(async (tx) => {
        await tx.query(INSERT_KEY, insertKey('nest-a', 'nest'));
        nested = idsOf(store, 'nest'); // waits for this very transaction: awaiting it would never end
        await turns();
        throw thrown;
      });
      await expect(transaction).rejects.toBe(thrown);
      expect(await nested).toEqual([]);
    });

    it('refuses a statement through a transaction that is over', async () => {
      let leaked: Parameters<Parameters<Store['transaction']>[0]>[0] | undefined;
      await store.transaction(async (tx) => {
        leaked = tx;
      });
      const error = await leaked?.query('select 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FatalError);
      expect((error as FatalError).code).toBe('internal_error');
    });

    it('commits nothing and sends nothing for a transaction that runs no statement', async () => {
      expect(await store.transaction(async () => 'no statements')).toBe('no statements');
      await expect(
        store.transaction(async () => {
          throw new Error('before any statement');
        }),
      ).rejects.toThrow('before any statement');
      expect(await store.query('select 1 as one')).toEqual([{ one: 1 }]);
    });
  });

  describe('errors cross the thread with their SQLSTATE', () => {
    it('keeps the code and fields of a unique violation, outside and inside a transaction', async () => {
      await store.query(INSERT_KEY, insertKey('uv-a', 'uv'));
      const outside = await store.query(INSERT_KEY, insertKey('uv-a', 'uv')).catch((e: unknown) => e);
      const inside = await store
        .transaction((tx) => tx.query(INSERT_KEY, insertKey('uv-a', 'uv')))
        .catch((e: unknown) => e);
      for (const error of [outside, inside]) {
        expect(error).toBeInstanceOf(PgliteError);
        expect(error).toBeInstanceOf(Error);
        const sqlError = error as PgliteError;
        expect(sqlError.code).toBe('23505');
        expect(sqlError.message).toMatch(/duplicate key value violates unique constraint/);
        expect(sqlError.constraint).toBe('api_keys_pkey');
        expect(sqlError.table).toBe('api_keys');
        expect(sqlError.detail).toMatch(/already exists/);
        expect(sqlError.severity).toBe('ERROR');
        expect(sqlError.query).toBe(INSERT_KEY);
        expect(isUniqueViolation(error)).toBe(true);
        expect(isDataError(error)).toBe(true);
      }
      expect(await idsOf(store, 'uv')).toEqual(['uv-a']);
    });

    it('keeps the code and position of a syntax error, which is not a data error', async () => {
      const error = await store.query('selec 1').catch((e: unknown) => e);
      expect((error as PgliteError).code).toBe('42601');
      expect((error as PgliteError).position).toBe('1');
      expect(isDataError(error)).toBe(false);
    });

    it('hands the error a transaction throws back as the very same object', async () => {
      const thrown = new RangeError('mine');
      await expect(
        store.transaction(async (tx) => {
          await tx.query('select 1');
          throw thrown;
        }),
      ).rejects.toBe(thrown);
    });

    it('raises 25P02 when a transaction swallows an error and resolves, and commits nothing', async () => {
      const error = await store
        .transaction(async (tx) => {
          await tx.query(INSERT_KEY, insertKey('ab-a', 'ab'));
          await tx.query('select 1 / 0').catch(() => 'ignored');
          return 'resolved anyway';
        })
        .catch((e: unknown) => e);
      expect((error as PgliteError).code).toBe('25P02');
      expect(await idsOf(store, 'ab')).toEqual([]);
    });

    it('fails a statement whose parameter cannot be sent and keeps serving the others', async () => {
      const unsendable = (() => 1) as unknown as string;
      const error = await store.query('select $1 as x', [unsendable]).catch((e: unknown) => e);
      expect((error as Error).name).toBe('DataCloneError');
      expect(await store.query('select $1::text as x', ['fine'])).toEqual([{ x: 'fine' }]);
    });
  });

  it('brings values back as PGlite gives them, bigint and dates included', async () => {
    const [row] = await store.query(
      `select 9007199254740993::int8 as big, 5::int8 as small, 2::numeric as amount, 1.5::float8 as ratio,
        true as flag, null as nothing, '{"a":[1,2]}'::jsonb as doc, '\\x0102'::bytea as bytes,
        to_timestamp(0) as epoch`,
    );
    expect(row).toEqual({
      big: 9007199254740993n,
      small: 5,
      amount: '2',
      ratio: 1.5,
      flag: true,
      nothing: null,
      doc: { a: [1, 2] },
      bytes: new Uint8Array([1, 2]),
      epoch: new Date(0),
    });
  });

  it('keeps the main thread free while a statement runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await store.query('select pg_sleep(0.5)');
    } finally {
      clearInterval(timer);
    }
    // In the router's thread PGlite would have blocked every tick until the statement ended.
    expect(ticks).toBeGreaterThanOrEqual(5);
  });
});

describe('PGlite worker lifecycle', () => {
  it('fails pending, queued and later calls with service_unavailable when the worker dies', async () => {
    const store = await openPgliteStore();
    const running = store.query('select pg_sleep(30)').catch((e: unknown) => e);
    const inTransaction = store.transaction((tx) => tx.query('select pg_sleep(30)')).catch((e: unknown) => e);
    const queued = store.query('select 1').catch((e: unknown) => e); // behind the transaction
    await turns();
    await crashPgliteWorkerForTesting(store);

    expectUnavailable(await running);
    expectUnavailable(await inTransaction);
    expectUnavailable(await queued);
    expectUnavailable(await store.query('select 1').catch((e: unknown) => e));
    expectUnavailable(await store.transaction((tx) => tx.query('select 1')).catch((e: unknown) => e));
    await store.close();
    await store.close();
  });

  it('closes after the running transaction, once, and refuses calls made after close', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'neurino-pglite-worker-'));
    try {
      const store = await openPgliteStore(dataDir);
      const started = deferred();
      const finish = deferred();
      const transaction = store.transaction(async (tx) => {
        await tx.query(INSERT_KEY, insertKey('close-a', 'close'));
        started.resolve();
        await finish.promise;
        await tx.query(INSERT_KEY, insertKey('close-b', 'close'));
        return 'committed';
      });
      await started.promise;
      const closing = [store.close(), store.close()];
      expectUnavailable(await store.query('select 1').catch((e: unknown) => e));
      expectUnavailable(await store.transaction(async () => 'late').catch((e: unknown) => e));
      finish.resolve();
      expect(await transaction).toBe('committed');
      await Promise.all(closing);
      await store.close();
      await expect(crashPgliteWorkerForTesting(store)).resolves.toBeUndefined(); // already ended: harmless

      const reopened = await openPgliteStore(dataDir);
      try {
        expect(await idsOf(reopened, 'close')).toEqual(['close-a', 'close-b']);
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('reports a directory PGlite cannot open as service_unavailable, without hanging', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'neurino-pglite-bad-'));
    try {
      await writeFile(join(dir, 'PG_VERSION'), 'not a database\n');
      const error = await openPgliteStore(dir).catch((e: unknown) => e);
      expectUnavailable(error);
      expect((error as RetryableError).message).toContain(dir);

      const file = join(dir, 'PG_VERSION');
      expectUnavailable(await openPgliteStore(file).catch((e: unknown) => e)); // a file, not a directory
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a store that is not PGlite in the crash hook', async () => {
    const notPglite = { kind: 'pglite' } as unknown as Store;
    await expect(crashPgliteWorkerForTesting(notPglite)).rejects.toThrow(/not a PGlite store/);
  });

  it('loads its worker without tsx, and neither keeps an idle process alive nor lets it exit mid-query', async () => {
    // A process that opens a store, queries and never closes it: the answer must arrive, then the process
    // must end by itself, as it did with PGlite in its own thread.
    const script = `
      import { openPgliteStore } from ${JSON.stringify(new URL('./pglite-store.ts', import.meta.url).href)};
      const store = await openPgliteStore();
      const rows = await store.query('select 41 + 1 as answer');
      console.log(JSON.stringify(rows));
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([{ answer: 42 }]);
  });
});
