// Journaled entries reach the store in few large batches, also under steady load: what arrives while a
// batch is written waits to gather again instead of following at once in a small batch of its own
// (a PGlite statement's fixed cost is about that of writing 256 rows, so small batches double the CPU).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { randomBytes32 } from '../../protocol/ids.ts';
import { openStore } from '../store/open-store.ts';
import type { Queryable, SqlParam, Store } from '../store/store.ts';
import { type OpenedMetering, openMetering } from './open-metering.ts';
import {
  chargeJob,
  type JobContext,
  type ReservedJob,
  reserveJob,
  settableCredits,
  silentLogger,
} from './testing/metering-fixture.ts';

const ctx: JobContext = {
  domain: { chainId: 31337, verifyingContract: devAccount(3).address },
  node: devAccount(10),
  podId: randomBytes32(),
};
const payer = devAccount(11).address;

/** The real store, with the rows of each ingested batch counted and the first batch held at a gate. */
function observedStore(store: Store) {
  const batches: number[] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let entered!: () => void;
  const firstEntered = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const observed: Store = {
    kind: store.kind,
    query: (sql, params) => store.query(sql, params),
    close: () => store.close(),
    transaction: (fn) =>
      store.transaction((tx) => {
        const spy: Queryable = {
          async query<T>(sql: string, params?: readonly SqlParam[]) {
            if (sql.startsWith('insert into jobs')) {
              batches.push((JSON.parse(String(params?.[0])) as unknown[]).length);
              if (batches.length === 1) {
                entered();
                await gate;
              }
            }
            return tx.query<T>(sql, params);
          },
        };
        return fn(spy);
      }),
  };
  return { observed, batches, firstEntered, open };
}

describe('Metering with a journal, under steady load', () => {
  let dir: string;
  let store: Store;
  let opened: OpenedMetering;
  let observer: ReturnType<typeof observedStore>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'neurino-gather-'));
    store = await openStore();
    observer = observedStore(store);
    const credits = settableCredits();
    credits.set(payer, 10n ** 24n);
    // A gathering wait longer than the test: a batch written before the flush came from a full batch.
    opened = await openMetering({
      store: observer.observed,
      credits,
      holder: 'router-gather',
      logger: silentLogger,
      journalDir: join(dir, 'journal'),
      gatherMs: 600_000,
    });
  });

  afterAll(async () => {
    await opened?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const chargeMany = async (count: number) => {
    const { metering } = opened;
    const jobs: ReservedJob[] = [];
    for (let i = 0; i < count; i++) jobs.push(await reserveJob(metering, ctx, payer, 1_000n));
    for (const job of jobs) await chargeJob(metering, ctx, job, 10n);
  };

  it('lets what arrived during a batch gather again, then writes it whole on a flush', async () => {
    // A full batch goes at once; the store holds it at the gate while 40 more jobs are charged.
    await chargeMany(256);
    await observer.firstEntered;
    await chargeMany(40);
    observer.open();
    // The first batch commits; the 40 then wait to gather (not written on the heels of the first).
    await until(() => opened.metering.stats().unstored === 40);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(observer.batches).toEqual([256]);

    await opened.metering.flush();
    expect(observer.batches).toEqual([256, 40]);
    const [row] = await store.query<{ n: unknown }>('select count(*) as n from receipts');
    expect(Number(row?.n)).toBe(296);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
