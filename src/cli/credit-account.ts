// A developer's compute credits on-chain (ComputeCredits): what the account holds, depositing NEU (the
// token's approval first, when short), and the delayed withdrawal (request, then claim once due).
import { type Address, formatEther, type Hex, type PublicClient } from 'viem';
import type { ContractAddresses } from '../chain/address-book.ts';
import type { NeurinoPublicClient, NeurinoWalletClient } from '../chain/clients.ts';
import { computeCreditsAbi, neurinoTokenAbi } from '../chain/generated/index.ts';
import { FatalError } from '../protocol/errors.ts';
import { type CustomError, refused, sent } from './chain-writes.ts';

export interface CreditAccount {
  account: Address;
  /** NEU in the account's wallet, free to deposit. */
  neu: bigint;
  /** Credits deposited (routers' charges are debited from them as batches settle). */
  credits: bigint;
  /** Credits less a pending withdrawal: what routers let the account spend. */
  spendable: bigint;
  /** A requested withdrawal and when it may be claimed (seconds since the epoch). */
  withdrawal: { amount: bigint; availableAt: number } | undefined;
  withdrawalDelaySeconds: number;
}

export interface CreditChain {
  publicClient: NeurinoPublicClient;
  contracts: Pick<ContractAddresses, 'computeCredits' | 'neurinoToken'>;
}

const creditsOf = (chain: CreditChain) =>
  ({ address: chain.contracts.computeCredits, abi: computeCreditsAbi }) as const;

const refusedBy = (what: string, cause: unknown) => refused(what, cause, creditsReason);

/** ComputeCredits' refusals a developer meets, in words; undefined for any other. */
function creditsReason({ errorName, args }: CustomError): string | undefined {
  switch (errorName) {
    case 'WithdrawalNotReady':
      return `the withdrawal is due at ${new Date(Number(args[0]) * 1_000).toISOString()}, not yet`;
    case 'NoPendingWithdrawal':
      return 'no withdrawal was requested (neurino credits withdraw <NEU> first)';
    case 'InsufficientCredits':
      return `${String(args[0])} has ${formatEther(BigInt(String(args[1])))} NEU of credits, less than ${formatEther(BigInt(String(args[2])))}`;
    default:
      return undefined;
  }
}

export async function readCreditAccount(chain: CreditChain, account: Address): Promise<CreditAccount> {
  const credits = creditsOf(chain);
  const client: PublicClient = chain.publicClient;
  try {
    const [neu, balance, spendable, [pending, availableAt], delay] = await Promise.all([
      client.readContract({
        address: chain.contracts.neurinoToken,
        abi: neurinoTokenAbi,
        functionName: 'balanceOf',
        args: [account],
      }),
      client.readContract({ ...credits, functionName: 'balanceOf', args: [account] }),
      client.readContract({ ...credits, functionName: 'spendableBalanceOf', args: [account] }),
      client.readContract({ ...credits, functionName: 'pendingWithdrawal', args: [account] }),
      client.readContract({ ...credits, functionName: 'withdrawalDelay' }),
    ]);
    return {
      account,
      neu,
      credits: balance,
      spendable,
      withdrawal: pending === 0n ? undefined : { amount: pending, availableAt: Number(availableAt) },
      withdrawalDelaySeconds: Number(delay),
    };
  } catch (cause) {
    throw refusedBy(`cannot read the credits of ${account} from ComputeCredits ${credits.address}`, cause);
  }
}

/** Deposits `amount` wei of NEU from the wallet as credits of `beneficiary` (the wallet's own by default). */
export async function depositCredits(
  chain: CreditChain,
  wallet: NeurinoWalletClient,
  amount: bigint,
  beneficiary: Address = wallet.account.address,
): Promise<Hex> {
  const owner = wallet.account.address;
  const token = { address: chain.contracts.neurinoToken, abi: neurinoTokenAbi } as const;
  const credits = creditsOf(chain);
  const { publicClient } = chain;
  const held = await publicClient.readContract({ ...token, functionName: 'balanceOf', args: [owner] });
  if (held < amount) {
    throw new FatalError('invalid_request', {
      message: `${owner} holds ${formatEther(held)} NEU, less than the ${formatEther(amount)} NEU to deposit`,
    });
  }
  const allowance = await publicClient.readContract({
    ...token,
    functionName: 'allowance',
    args: [owner, credits.address],
  });
  if (allowance < amount) {
    try {
      await sent(
        chain.publicClient,
        await wallet.writeContract({ ...token, functionName: 'approve', args: [credits.address, amount] }),
      );
    } catch (cause) {
      throw refusedBy('the NEU token refused the approval', cause);
    }
  }
  try {
    // depositFor serves the wallet's own account too.
    const { request } = await publicClient.simulateContract({
      ...credits,
      account: wallet.account,
      functionName: 'depositFor',
      args: [beneficiary, amount],
    });
    return await sent(chain.publicClient, await wallet.writeContract(request));
  } catch (cause) {
    throw refusedBy('ComputeCredits refused the deposit', cause);
  }
}

/** Asks to withdraw `amount` wei of credits; they stay spendable-less until claimed after the delay. */
export async function requestCreditWithdrawal(
  chain: CreditChain,
  wallet: NeurinoWalletClient,
  amount: bigint,
): Promise<Hex> {
  try {
    const { request } = await chain.publicClient.simulateContract({
      ...creditsOf(chain),
      account: wallet.account,
      functionName: 'requestWithdrawal',
      args: [amount],
    });
    return await sent(chain.publicClient, await wallet.writeContract(request));
  } catch (cause) {
    throw refusedBy('ComputeCredits refused the withdrawal request', cause);
  }
}

/** Claims a withdrawal that is due: the NEU go back to the wallet. Resolves with the wei paid. */
export async function claimCreditWithdrawal(
  chain: CreditChain,
  wallet: NeurinoWalletClient,
): Promise<{ hash: Hex; paid: bigint }> {
  try {
    const { request, result } = await chain.publicClient.simulateContract({
      ...creditsOf(chain),
      account: wallet.account,
      functionName: 'withdraw',
    });
    return { hash: await sent(chain.publicClient, await wallet.writeContract(request)), paid: result };
  } catch (cause) {
    throw refusedBy('ComputeCredits refused the claim', cause);
  }
}
