// Devnet bookkeeping on-chain: NEU for miners and the developer, stake, credits. Idempotent.
import type { Address, LocalAccount } from 'viem';
import { parseEther } from 'viem';
import type { AddressBook } from '../../chain/address-book.ts';
import { type NeurinoPublicClient, walletClientFor } from '../../chain/clients.ts';
import { computeCreditsAbi, neurinoTokenAbi, nodeRegistryAbi } from '../../chain/generated/index.ts';
import { registerNode } from '../../compute/miner/registration.ts';
import { depositCredits } from '../credit-account.ts';

interface Context {
  publicClient: NeurinoPublicClient;
  book: AddressBook;
  /** Holds the treasury's NEU on the devnet. */
  treasury: LocalAccount;
}

async function transferNeu(context: Context, to: Address, amount: bigint): Promise<void> {
  const wallet = walletClientFor(context.publicClient.chain, context.treasury);
  const hash = await wallet.writeContract({
    address: context.book.contracts.neurinoToken,
    abi: neurinoTokenAbi,
    functionName: 'transfer',
    args: [to, amount],
  });
  await context.publicClient.waitForTransactionReceipt({ hash });
}

/** Stakes a miner's node key at the registry's minimum (twice it, so a top-up is not needed soon). */
export async function ensureMinerStaked(
  context: Context,
  node: LocalAccount,
): Promise<'registered' | 'already'> {
  const minStake = await context.publicClient.readContract({
    address: context.book.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: 'minStake',
  });
  const active = await context.publicClient.readContract({
    address: context.book.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: 'isActive',
    args: [node.address],
  });
  if (active) return 'already';
  const stake = minStake * 2n;
  await transferNeu(context, node.address, stake);
  await registerNode({
    publicClient: context.publicClient,
    walletClient: walletClientFor(context.publicClient.chain, node),
    nodeRegistry: context.book.contracts.nodeRegistry,
    stake,
  });
  return 'registered';
}

/** Tops the developer's credits up to `target` NEU (deposited from the treasury on their behalf). */
export async function ensureCredits(
  context: Context,
  developer: Address,
  target = parseEther('1000'),
): Promise<bigint> {
  const credits = { address: context.book.contracts.computeCredits, abi: computeCreditsAbi } as const;
  const balance = await context.publicClient.readContract({
    ...credits,
    functionName: 'balanceOf',
    args: [developer],
  });
  if (balance >= target) return balance;
  const wallet = walletClientFor(context.publicClient.chain, context.treasury);
  await depositCredits(
    { publicClient: context.publicClient, contracts: context.book.contracts },
    wallet,
    target - balance,
    developer,
  );
  return target;
}
