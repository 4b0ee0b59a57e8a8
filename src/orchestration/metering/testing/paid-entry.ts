// Tests only: a paid job's metering entry (its end with a receipt), as ingestion stores it. Parties and
// amounts vary with `i`, so a run of them spans several payers, pods, nodes and frontends.
import { type Address, getAddress, type Hex, zeroAddress } from 'viem';
import { hashReceipt, type Receipt } from '../../../protocol/receipt.ts';
import type { SettleableReceipt } from '../../settlement/aggregate.ts';
import { endedEntry, type MeteringEntry } from '../metering-entries.ts';

export const addr = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`);
export const word = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;

/** A succeeded job's entry (public id `job-<i>`) with its receipt, what a batch's settlement sums, and its hash. */
export function paidEntry(i: number): { entry: MeteringEntry; settleable: SettleableReceipt; hash: Hex } {
  const jobId = word(1_000 + i);
  const attemptId = word(2_000 + i);
  const payer = addr(1 + (i % 3));
  const node = addr(100 + (i % 2));
  const podId = word(10 + (i % 2));
  const frontend = i % 4 === 0 ? zeroAddress : addr(200);
  const charged = BigInt(1_000 + i) * 10n ** 15n;
  const computeUnits = BigInt(i * 7);
  const now = 1_700_000_000_000 + i;
  const job = { jobId, publicId: `job-${i}`, apiKeyId: null, payer, podId, kind: 'chat', createdAt: now };
  const attempt = { attemptId, node, status: 'succeeded' as const, startedAt: now, finishedAt: now };
  const receipt: Receipt = {
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
  };
  // The real struct hash, so that the router's attester takes it (it leaves a wrong one unattested).
  const hash = hashReceipt(receipt);
  const entry = endedEntry(
    job as never,
    { status: 'succeeded', attempts: [attempt] },
    {
      receipt,
      receiptHash: hash,
      nodeSignature: `0x${'ab'.repeat(65)}`,
      charged,
    },
    now,
  );
  return { entry, settleable: { payer, podId, node, frontend, price: charged, computeUnits }, hash };
}
