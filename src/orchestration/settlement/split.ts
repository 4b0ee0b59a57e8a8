// What a settled batch pays each party, computed the way Settlement.sol does (per line, rounding down,
// the node taking the exact remainder). Lets tests and dashboards predict on-chain earnings to the wei.
import { type Address, getAddress, type Hex, isAddressEqual, zeroAddress } from 'viem';
import { shareOf } from '../../protocol/units.ts';
import type { BatchLine } from './aggregate.ts';

export interface RevenueTerms {
  deployer: Address;
  deployerShareBps: number;
}

export interface SplitParams {
  /** The pod's terms as PodRegistry.revenueTerms answers them. */
  termsOf: (podId: Hex) => RevenueTerms;
  buybackBps: number;
  frontendBps: number;
}

export interface SettlementSplit {
  /** Earnings credited per account (EIP-55 keys), summed over every line. */
  earnings: Map<Address, bigint>;
  /** Sent to the stNEU vault. */
  buyback: bigint;
}

export function splitLines(
  lines: readonly BatchLine[],
  params: SplitParams,
  into?: SettlementSplit,
): SettlementSplit {
  const split = into ?? { earnings: new Map<Address, bigint>(), buyback: 0n };
  const credit = (account: Address, amount: bigint) => {
    if (amount === 0n) return;
    const key = getAddress(account);
    split.earnings.set(key, (split.earnings.get(key) ?? 0n) + amount);
  };
  for (const line of lines) {
    const terms = params.termsOf(line.podId);
    const toDeployer = shareOf(line.amount, terms.deployerShareBps);
    const toBuyback = shareOf(line.amount, params.buybackBps);
    const toFrontend = isAddressEqual(line.frontend, zeroAddress)
      ? 0n
      : shareOf(line.amount, params.frontendBps);
    credit(terms.deployer, toDeployer);
    credit(line.frontend, toFrontend);
    credit(line.node, line.amount - toDeployer - toBuyback - toFrontend);
    split.buyback += toBuyback;
  }
  return split;
}
