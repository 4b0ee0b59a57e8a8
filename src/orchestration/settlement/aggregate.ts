// Folds receipts into one Settlement batch: a debit per payer, a line per (pod, node, frontend).
// Lines are sorted by pod so the contract reads each pod's revenue terms once.
import { type Address, type Hex, zeroAddress } from 'viem';

export interface SettleableReceipt {
  payer: Address;
  podId: Hex;
  node: Address;
  /** zeroAddress when the job came through no frontend. */
  frontend: Address;
  /** NEU wei charged for the job. */
  price: bigint;
  computeUnits: bigint;
}

export interface BatchDebit {
  payer: Address;
  amount: bigint;
}

export interface BatchLine {
  podId: Hex;
  node: Address;
  frontend: Address;
  amount: bigint;
  computeUnits: bigint;
}

export interface AggregatedBatch {
  debits: BatchDebit[];
  lines: BatchLine[];
  total: bigint;
}

export function aggregateReceipts(receipts: readonly SettleableReceipt[]): AggregatedBatch {
  const debits = new Map<string, BatchDebit>();
  const lines = new Map<string, BatchLine>();
  let total = 0n;
  for (const receipt of receipts) {
    if (receipt.price < 0n || receipt.computeUnits < 0n)
      throw new RangeError('receipt amounts must be non-negative');
    total += receipt.price;
    const payerKey = receipt.payer.toLowerCase();
    const debit = debits.get(payerKey);
    if (debit) debit.amount += receipt.price;
    else debits.set(payerKey, { payer: receipt.payer, amount: receipt.price });

    const frontend = receipt.frontend ?? zeroAddress;
    const lineKey = `${receipt.podId.toLowerCase()}:${receipt.node.toLowerCase()}:${frontend.toLowerCase()}`;
    const line = lines.get(lineKey);
    if (line) {
      line.amount += receipt.price;
      line.computeUnits += receipt.computeUnits;
    } else {
      lines.set(lineKey, {
        podId: receipt.podId,
        node: receipt.node,
        frontend,
        amount: receipt.price,
        computeUnits: receipt.computeUnits,
      });
    }
  }
  const sortedLines = [...lines.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, line]) => line);
  const sortedDebits = [...debits.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, d]) => d);
  return { debits: sortedDebits.filter((d) => d.amount > 0n), lines: sortedLines, total };
}
