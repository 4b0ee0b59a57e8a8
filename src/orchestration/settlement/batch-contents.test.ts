import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { ingestBatch } from '../metering/metering-ingest.ts';
import { paidEntry, word } from '../metering/testing/paid-entry.ts';
import { aggregateReceipts } from './aggregate.ts';
import { settleBatchArgs } from './batch-call.ts';
import { batchContents } from './batch-contents.ts';
import { cutBatch } from './batch-records.ts';

const ROUTER = getAddress(`0x${'77'.repeat(20)}`);
describe.each(storeBackends())('batchContents on $kind', (backend) => {
  const db = freshStoreFor(backend);

  it("gives the batch's leaves in id order and charges that aggregate like its receipts", async () => {
    const paid = Array.from({ length: 40 }, (_, i) => paidEntry(i));
    // Two ingest batches: ids follow the order the entries were stored in.
    await ingestBatch(
      db.store,
      'holder',
      paid.slice(0, 25).map((p) => p.entry),
    );
    await ingestBatch(
      db.store,
      'holder',
      paid.slice(25).map((p) => p.entry),
    );
    const cut = await cutBatch(db.store, { router: ROUTER, sequence: 0n, maxReceipts: 1_000 });
    if (cut.kind !== 'batch') throw new Error(`expected a batch, got ${cut.kind}`);

    const contents = await batchContents(db.store, ROUTER, 0n);
    expect(contents.leaves).toEqual(paid.map((p) => p.hash));
    // 3 payers x 2 pods x 2 nodes x 2 frontends at most, far fewer rows than receipts.
    expect(contents.groups.length).toBeLessThanOrEqual(24);
    expect(aggregateReceipts(contents.groups)).toEqual(aggregateReceipts(paid.map((p) => p.settleable)));
    const args = settleBatchArgs(cut.batch, contents);
    expect(args.receiptsRoot).toBe(cut.batch.receiptsRoot);
    expect(args.receiptCount).toBe(40);
    expect(args.debits.reduce((sum, d) => sum + d.amount, 0n)).toBe(cut.batch.total);

    // A receipt changed in the store after the cut no longer matches the recorded root.
    await db.store.query('update receipts set receipt_hash = $1 where job_id = $2', [word(9), word(1_005)]);
    const altered = await batchContents(db.store, ROUTER, 0n);
    expect(() => settleBatchArgs(cut.batch, altered)).toThrow(/no longer matches its receipts/);
  });

  it('is empty for a batch the store does not have', async () => {
    expect(await batchContents(db.store, ROUTER, 99n)).toEqual({ leaves: [], groups: [] });
  });
});
