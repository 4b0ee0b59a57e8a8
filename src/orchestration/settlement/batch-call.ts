// The argument of Settlement.settle for a stored batch: debits and lines from the receipts' charged
// amounts, under the batch's sequence and Merkle root. Rebuilt from the store on every (re)send, so a
// restarted router sends exactly the batch it recorded.
import type { Hex } from 'viem';
import { FatalError } from '../../protocol/errors.ts';
import { merkleRoot } from '../../protocol/merkle.ts';
import { aggregateReceipts, type BatchDebit, type BatchLine } from './aggregate.ts';
import type { BatchContents } from './batch-contents.ts';
import type { BatchRecord } from './batch-records.ts';

export interface SettleBatchArgs {
  sequence: bigint;
  receiptsRoot: Hex;
  receiptCount: number;
  debits: BatchDebit[];
  lines: BatchLine[];
}

export function settleBatchArgs(batch: BatchRecord, contents: BatchContents): SettleBatchArgs {
  const { leaves, groups } = contents;
  // The stored root commits to the receipts: if they no longer match, the store was altered.
  if (leaves.length !== batch.receiptCount || merkleRoot(leaves) !== batch.receiptsRoot) {
    throw new FatalError('internal_error', {
      message: `batch ${batch.sequence} no longer matches its receipts in the store`,
      details: {
        sequence: batch.sequence.toString(),
        receiptCount: batch.receiptCount,
        found: leaves.length,
      },
    });
  }
  const aggregated = aggregateReceipts(groups);
  return {
    sequence: batch.sequence,
    receiptsRoot: batch.receiptsRoot,
    receiptCount: batch.receiptCount,
    debits: aggregated.debits,
    lines: aggregated.lines,
  };
}
