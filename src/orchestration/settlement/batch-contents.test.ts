import { type Address, getAddress, type Hex, zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { endedEntry, type MeteringEntry } from '../metering/metering-entries.ts';
import { ingestBatch } from '../metering/metering-ingest.ts';
import { aggregateReceipts, type SettleableReceipt } from './aggregate.ts';
import { settleBatchArgs } from './batch-call.ts';
import { batchContents } from './batch-contents.ts';
import { cutBatch } from './batch-records.ts';

const ROUTER = getAddress(`0x${'77'.repeat(20)}`);
const addr = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`);
const word = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;

/** A succeeded job's entry; parties and amounts vary with `i` so the batch has several of each. */
function paidEntry(i: number): { entry: MeteringEntry; settleable: SettleableReceipt; hash: Hex } {
  const jobId = word(1_000 + i);
  const attemptId = word(2_000 + i);
  const payer = addr(1 + (i % 3));
  const node = addr(100 + (i % 2));
  const podId = word(10 + (i % 2));
  const frontend = i % 4 === 0 ? zeroAddress : addr(200);
  const charged = BigInt(1_000 + i) * 10n ** 15n;
  const computeUnits = BigInt(i * 7);
  const hash = word(3_000 + ((i * 7919) % 997));
  const now = 1_700_000_000_000 + i;
  const job = { jobId, publicId: `job-${i}`, apiKeyId: null, payer, podId, kind: 'chat', createdAt: now };
  const attempt = { attemptId, node, status: 'succeeded' as const, startedAt: now, finishedAt: now };
  const entry = endedEntry(
    job as never,
    { status: 'succeeded', attempts: [attempt] },
    {
      receipt: {
        jobId,
        attemptId,
        podId,
        node,
        frontend,
        payer,
        computeUnits,
        inputTokens: 3,
        outputTokens: 1,
        price: charged,
        resultHash: word(4_000 + i),
        startedAt: now,
        finishedAt: now,
      },
      receiptHash: hash,
      nodeSignature: `0x${'ab'.repeat(65)}`,
      charged,
    },
    now,
  );
  return { entry, settleable: { payer, podId, node, frontend, price: charged, computeUnits }, hash };
}

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
