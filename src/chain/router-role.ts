// Whether a key may settle receipts on a Settlement contract: it holds ROUTER_ROLE there.
import type { Address } from 'viem';
import type { NeurinoPublicClient } from './clients.ts';
import { settlementAbi } from './generated/index.ts';

export async function hasRouterRole(
  publicClient: NeurinoPublicClient,
  settlement: Address,
  router: Address,
): Promise<boolean> {
  const contract = { address: settlement, abi: settlementAbi } as const;
  const role = await publicClient.readContract({ ...contract, functionName: 'ROUTER_ROLE' });
  return publicClient.readContract({ ...contract, functionName: 'hasRole', args: [role, router] });
}
