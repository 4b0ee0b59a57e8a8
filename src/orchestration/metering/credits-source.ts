// Where a payer's spendable compute credits come from: the ComputeCredits contract, read through a
// short cache so a burst of requests costs one RPC call per payer.
import type { Address } from 'viem';
import type { NeurinoPublicClient } from '../../chain/clients.ts';
import { computeCreditsAbi } from '../../chain/generated/index.ts';
import { RetryableError } from '../../protocol/errors.ts';

export interface CreditsSource {
  /** On-chain credits minus any pending withdrawal, in wei. */
  balanceOf(payer: Address): Promise<bigint>;
  /**
   * How stale an answer may be, in ms (0: always fresh). The ledger keeps counting receipts of batches
   * settled within this window, so a balance read before their debit never makes credits look larger.
   */
  readonly maxAgeMs: number;
}

export interface ChainCreditsSourceOptions {
  publicClient: NeurinoPublicClient;
  computeCredits: Address;
  /** Default 1 s. */
  maxAgeMs?: number;
}

export function chainCreditsSource(options: ChainCreditsSourceOptions): CreditsSource {
  const maxAgeMs = options.maxAgeMs ?? 1_000;
  const cache = new Map<string, { balance: Promise<bigint>; readAt: number }>();
  const read = async (payer: Address): Promise<bigint> => {
    try {
      return await options.publicClient.readContract({
        address: options.computeCredits,
        abi: computeCreditsAbi,
        functionName: 'spendableBalanceOf',
        args: [payer],
      });
    } catch (cause) {
      throw new RetryableError('chain_error', {
        message: 'cannot read compute credits',
        details: { payer },
        cause,
      });
    }
  };
  return {
    maxAgeMs,
    balanceOf(payer) {
      const key = payer.toLowerCase();
      const now = Date.now();
      const hit = cache.get(key);
      // The time of the request, not of the answer, bounds the staleness: conservative.
      if (hit !== undefined && now - hit.readAt < maxAgeMs) return hit.balance;
      const balance = read(payer);
      cache.set(key, { balance, readAt: now });
      balance.catch(() => {
        if (cache.get(key)?.balance === balance) cache.delete(key);
      });
      if (cache.size > 100_000) cache.clear();
      return balance;
    },
  };
}
