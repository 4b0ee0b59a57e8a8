// What a node, a pod deployer or a frontend has earned from settled batches (Settlement keeps each party's
// share until it claims it), and the claim that pays it out in NEU, to the earner or to another address.
import { type Address, formatEther, type Hex, zeroAddress } from 'viem';
import type { ContractAddresses } from '../chain/address-book.ts';
import type { NeurinoPublicClient, NeurinoWalletClient } from '../chain/clients.ts';
import { neurinoTokenAbi, settlementAbi } from '../chain/generated/index.ts';
import { FatalError } from '../protocol/errors.ts';
import { type CustomError, refused, sent } from './chain-writes.ts';

export interface EarningsChain {
  publicClient: NeurinoPublicClient;
  contracts: Pick<ContractAddresses, 'settlement' | 'neurinoToken'>;
}

export interface Earnings {
  account: Address;
  /** NEU the account may claim from Settlement. */
  unclaimed: bigint;
  /** NEU in the account's wallet. */
  neu: bigint;
}

const settlementOf = (chain: EarningsChain) =>
  ({ address: chain.contracts.settlement, abi: settlementAbi }) as const;

/** Settlement's refusals of a claim, in words; undefined for any other. */
function claimReason({ errorName, args }: CustomError): string | undefined {
  switch (errorName) {
    case 'NothingToClaim':
      return `${String(args[0])} has no earnings to claim`;
    case 'ZeroAddress':
      return 'earnings cannot be sent to the zero address';
    default:
      return undefined;
  }
}

export async function readEarnings(chain: EarningsChain, account: Address): Promise<Earnings> {
  const settlement = settlementOf(chain);
  try {
    const [unclaimed, neu] = await Promise.all([
      chain.publicClient.readContract({ ...settlement, functionName: 'earningsOf', args: [account] }),
      chain.publicClient.readContract({
        address: chain.contracts.neurinoToken,
        abi: neurinoTokenAbi,
        functionName: 'balanceOf',
        args: [account],
      }),
    ]);
    return { account, unclaimed, neu };
  } catch (cause) {
    throw refused(
      `cannot read the earnings of ${account} from Settlement ${settlement.address}`,
      cause,
      () => undefined,
    );
  }
}

/** NEU earned by everyone and not claimed yet: what Settlement holds for the parties. */
export async function totalUnclaimed(chain: EarningsChain): Promise<bigint> {
  const settlement = settlementOf(chain);
  try {
    return await chain.publicClient.readContract({ ...settlement, functionName: 'totalUnclaimed' });
  } catch (cause) {
    throw refused(`cannot read what Settlement ${settlement.address} holds`, cause, () => undefined);
  }
}

/** Claims all the wallet's earnings, paid to `to` (the wallet itself by default); the NEU paid. */
export async function claimEarnings(
  chain: EarningsChain,
  wallet: NeurinoWalletClient,
  to: Address = wallet.account.address,
): Promise<{ hash: Hex; paid: bigint; to: Address }> {
  if (to === zeroAddress) {
    throw new FatalError('invalid_request', { message: 'earnings cannot be sent to the zero address' });
  }
  const settlement = settlementOf(chain);
  try {
    // claimTo(self) is claim(): one call either way.
    const { request, result } = await chain.publicClient.simulateContract({
      ...settlement,
      account: wallet.account,
      functionName: 'claimTo',
      args: [to],
    });
    return { hash: await sent(chain.publicClient, await wallet.writeContract(request)), paid: result, to };
  } catch (cause) {
    throw refused('Settlement refused the claim', cause, claimReason);
  }
}

export const describeEarnings = (e: Earnings) =>
  `${formatEther(e.unclaimed)} NEU to claim, ${formatEther(e.neu)} NEU in the wallet`;
