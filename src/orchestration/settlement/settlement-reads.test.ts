// What the settlement reads each cycle and each metrics scrape stays cheap as batches accumulate: the
// router's settled totals are kept up as batches settle (each counted once, per router, filled from the
// batches at migration), and its pending batches are read through a partial index.
import { type Address, getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { MIGRATIONS } from '../store/migrations.ts';
import { markSettled, markSuperseded, PENDING_BATCHES_SQL, settledTotals } from './batch-records.ts';

const routerA = getAddress(`0x${'a1'.repeat(20)}`);
const routerB = getAddress(`0x${'b2'.repeat(20)}`);

describe.each(storeBackends())('settlement reads on $kind', (backend) => {
  const db = freshStoreFor(backend);

  const pending = (router: Address, sequence: number, receipts: number) =>
    db.store.query(
      `insert into settlement_batches (router, sequence, receipts_root, receipt_count, total, status, created_at)
       values ($1, $2, '0x', $3, 1, 'pending', 1)`,
      [router, sequence, receipts],
    );

  it('counts a batch once when it settles, per router, and never a superseded one', async () => {
    await pending(routerA, 1, 10);
    await pending(routerA, 2, 5);
    await pending(routerA, 3, 4);
    await pending(routerB, 1, 7);
    expect(await settledTotals(db.store, routerA)).toEqual({ batches: 0, receipts: 0 });

    await markSettled(db.store, routerA, 1n);
    await markSettled(db.store, routerA, 1n);
    expect(await settledTotals(db.store, routerA)).toEqual({ batches: 1, receipts: 10 });

    await markSettled(db.store, routerA, 2n);
    await markSettled(db.store, routerB, 1n);
    await markSuperseded(db.store, routerA, 3n, 'the chain expects another sequence');
    await markSettled(db.store, routerA, 3n);
    expect(await settledTotals(db.store, routerA)).toEqual({ batches: 2, receipts: 15 });
    expect(await settledTotals(db.store, routerB)).toEqual({ batches: 1, receipts: 7 });
  });

  it('fills the totals from the settled batches when migrating a store that had none', async () => {
    const before = [await settledTotals(db.store, routerA), await settledTotals(db.store, routerB)];
    await db.store.query('delete from settlement_totals');
    const backfill = MIGRATIONS.find((m) => m.name === 'settled totals')?.statements[1];
    if (backfill === undefined) throw new Error('no backfill statement');
    await db.store.query(backfill);
    expect([await settledTotals(db.store, routerA), await settledTotals(db.store, routerB)]).toEqual(before);
  });

  it('reads the pending batches through their partial index, not every batch ever cut', async () => {
    await db.store.query(
      `insert into settlement_batches (router, sequence, receipts_root, receipt_count, total, status, created_at, settled_at)
       select $1, g, '0x', 10, 1, 'settled', 1, 2 from generate_series(100, 20100) g`,
      [routerB],
    );
    await db.store.query('analyze settlement_batches');
    const plan = await db.store.query<Record<string, string>>(`explain ${PENDING_BATCHES_SQL}`, [routerB]);
    expect(plan.map((row) => Object.values(row).join(' ')).join('\n')).toContain(
      'settlement_batches_pending_idx',
    );
  });
});
