// What the chain should hold after the router settled its stored receipts: the split of every batch,
// computed line by line as Settlement.sol does, summed per party.
import { type Address, getAddress, type Hex } from 'viem';
import type { NeurinoPublicClient } from '../../src/chain/clients.ts';
import { podRegistryAbi, settlementAbi } from '../../src/chain/generated/index.ts';
import type { StoredReceipt } from '../../src/orchestration/metering/receipt-rows.ts';
import { aggregateReceipts } from '../../src/orchestration/settlement/aggregate.ts';
import {
  type RevenueTerms,
  type SettlementSplit,
  splitLines,
} from '../../src/orchestration/settlement/split.ts';

export async function expectedSplit(
  publicClient: NeurinoPublicClient,
  contracts: { settlement: Address; podRegistry: Address },
  receipts: readonly StoredReceipt[],
): Promise<SettlementSplit & { debited: Map<Address, bigint> }> {
  const read = { address: contracts.settlement, abi: settlementAbi } as const;
  const buybackBps = await publicClient.readContract({ ...read, functionName: 'buybackBps' });
  const frontendBps = await publicClient.readContract({ ...read, functionName: 'frontendBps' });
  const terms = new Map<Hex, RevenueTerms>();
  for (const { receipt } of receipts) {
    if (terms.has(receipt.podId)) continue;
    const [deployer, deployerShareBps] = await publicClient.readContract({
      address: contracts.podRegistry,
      abi: podRegistryAbi,
      functionName: 'revenueTerms',
      args: [receipt.podId],
    });
    terms.set(receipt.podId, { deployer, deployerShareBps });
  }
  const byBatch = new Map<string, StoredReceipt[]>();
  for (const stored of receipts) {
    const key = stored.batch ? stored.batch.sequence.toString() : 'unsettled';
    byBatch.set(key, [...(byBatch.get(key) ?? []), stored]);
  }
  const split: SettlementSplit = { earnings: new Map(), buyback: 0n };
  const debited = new Map<Address, bigint>();
  for (const batch of byBatch.values()) {
    const aggregated = aggregateReceipts(
      batch.map(({ receipt, charged }) => ({ ...receipt, price: charged })),
    );
    splitLines(
      aggregated.lines,
      { termsOf: (podId) => terms.get(podId) as RevenueTerms, buybackBps, frontendBps },
      split,
    );
    for (const debit of aggregated.debits) {
      const payer = getAddress(debit.payer);
      debited.set(payer, (debited.get(payer) ?? 0n) + debit.amount);
    }
  }
  return { ...split, debited };
}
