// What the chain should hold after the router settled its stored receipts: the split of every batch,
// computed line by line as Settlement.sol does, summed per party; and the assertion that it does.
import { type Address, getAddress, type Hex } from 'viem';
import { expect } from 'vitest';
import type { NeurinoPublicClient } from '../../src/chain/clients.ts';
import { devRoleAccount } from '../../src/chain/dev-accounts.ts';
import { computeCreditsAbi, podRegistryAbi, settlementAbi } from '../../src/chain/generated/index.ts';
import type { Devnet } from '../../src/cli/devnet/network.ts';
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

/** The account's compute credits on-chain. */
export function creditsOf(devnet: Pick<Devnet, 'publicClient' | 'book'>, account: Address): Promise<bigint> {
  return devnet.publicClient.readContract({
    address: devnet.book.contracts.computeCredits,
    abi: computeCreditsAbi,
    functionName: 'balanceOf',
    args: [account],
  });
}

/**
 * Asserts the chain holds what the devnet router's stored `receipts` say: each party's earnings, the
 * developer's debit since `creditsBefore`, and one applied batch per sequence the receipts name. Returns
 * the expected split, for checks of its own.
 */
export async function expectChainMatchesReceipts(
  devnet: Pick<Devnet, 'publicClient' | 'book' | 'developer'>,
  receipts: readonly StoredReceipt[],
  creditsBefore: bigint,
): Promise<Awaited<ReturnType<typeof expectedSplit>>> {
  const { contracts } = devnet.book;
  const expected = await expectedSplit(devnet.publicClient, contracts, receipts);
  for (const [party, amount] of expected.earnings) {
    const onChain = await devnet.publicClient.readContract({
      address: contracts.settlement,
      abi: settlementAbi,
      functionName: 'earningsOf',
      args: [party],
    });
    expect(onChain, `earnings of ${party}`).toBe(amount);
  }
  const debited = expected.debited.get(getAddress(devnet.developer)) ?? 0n;
  expect(creditsBefore - (await creditsOf(devnet, devnet.developer))).toBe(debited);
  const sequences = new Set(receipts.map((r) => r.batch?.sequence));
  const next = await devnet.publicClient.readContract({
    address: contracts.settlement,
    abi: settlementAbi,
    functionName: 'nextSequence',
    args: [devRoleAccount('router').address],
  });
  expect(BigInt(sequences.size), 'batches applied on-chain').toBe(next);
  return expected;
}
