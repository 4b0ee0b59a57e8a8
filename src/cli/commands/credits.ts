// `neurino credits`: a developer's compute credits on-chain and at the gateway, and the on-chain steps that
// change them: `deposit <NEU>`, `withdraw <NEU>` (a request, due after ComputeCredits' delay), `claim`.
// The chain and contracts default to the local devnet's (.neurino/devnet.json), the gateway's view too.
import { Command, InvalidArgumentError } from 'commander';
import { type Address, getAddress } from 'viem';
import { walletClientFor } from '../../chain/clients.ts';
import { FatalError } from '../../protocol/errors.ts';
import { parseNeu } from '../../protocol/units.ts';
import {
  type ChainFlags,
  chainOptions,
  formatNeu,
  keyAccount,
  keyOption,
  parseAccount,
  resolveChain,
} from '../chain-flags.ts';
import {
  type CreditAccount,
  claimCreditWithdrawal,
  depositCredits,
  readCreditAccount,
  requestCreditWithdrawal,
} from '../credit-account.ts';
import { readDevnetFile } from '../devnet-file.ts';

interface ShowFlags extends ChainFlags {
  key?: `0x${string}`;
  gateway?: string;
  apiKey?: string;
  useGateway: boolean;
}

interface WriteFlags extends ChainFlags {
  key?: `0x${string}`;
  for?: Address;
}

function parseAmount(value: string): bigint {
  try {
    const amount = parseNeu(value);
    if (amount > 0n) return amount;
  } catch {}
  throw new InvalidArgumentError(`expected an amount of NEU above 0, such as 100 or 0.5, got "${value}"`);
}

async function signer(flags: WriteFlags) {
  const account = await keyAccount(flags);
  if (account === undefined) {
    throw new FatalError('invalid_request', { message: 'a key is needed: --key or NEURINO_KEY' });
  }
  const chain = await resolveChain(flags);
  return { chain, wallet: walletClientFor(chain.publicClient.chain, account) };
}

/** The account's standing on-chain, in lines. */
export function describeCreditAccount(a: CreditAccount, now = Date.now()): string[] {
  const lines = [
    `credits     ${formatNeu(a.credits)} (spendable ${formatNeu(a.spendable)})`,
    `wallet      ${formatNeu(a.neu)} to deposit`,
  ];
  if (a.withdrawal === undefined) {
    lines.push(`withdrawal  none (a request is due ${a.withdrawalDelaySeconds} s after it is made)`);
  } else {
    const due = a.withdrawal.availableAt * 1_000;
    const when = due <= now ? 'due now: neurino credits claim' : `due ${new Date(due).toISOString()}`;
    lines.push(`withdrawal  ${formatNeu(a.withdrawal.amount)} requested, ${when}`);
  }
  return lines;
}

/** What the gateway holds against the account (GET /v1/credits), or why it could not say. */
async function gatewayLines(
  gatewayUrl: string,
  apiKey: string,
): Promise<{ account?: Address; lines: string[] }> {
  try {
    const response = await fetch(`${gatewayUrl}/v1/credits`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    const body = (await response.json()) as Record<string, string> & { error?: { message?: string } };
    if (!response.ok)
      return { lines: [`gateway     ${gatewayUrl}: ${body.error?.message ?? response.status}`] };
    const [unsettled, held, available] = [body.unsettled, body.held, body.available].map((v) =>
      BigInt(v ?? 0),
    );
    return {
      account: getAddress(body.account ?? ''),
      lines: [
        `gateway     ${gatewayUrl}: ${formatNeu(unsettled ?? 0n)} charged, not settled yet; ${formatNeu(held ?? 0n)} held; ${formatNeu(available ?? 0n)} available`,
      ],
    };
  } catch (cause) {
    return {
      lines: [`gateway     ${gatewayUrl}: ${cause instanceof Error ? cause.message : String(cause)}`],
    };
  }
}

async function show(accountArg: Address | undefined, flags: ShowFlags): Promise<void> {
  const devnet = await readDevnetFile(flags.dataDir);
  const gatewayUrl = flags.gateway ?? process.env.NEURINO_GATEWAY_URL ?? devnet?.gatewayUrl;
  const apiKey = flags.apiKey ?? process.env.NEURINO_API_KEY ?? devnet?.apiKey;
  const atGateway =
    flags.useGateway && gatewayUrl !== undefined && apiKey !== undefined
      ? await gatewayLines(gatewayUrl, apiKey)
      : undefined;
  const account = accountArg ?? (await keyAccount(flags))?.address ?? atGateway?.account;
  if (account === undefined) {
    throw new FatalError('invalid_request', {
      message: 'whose credits? name an account, or pass --key, or an API key and a gateway',
    });
  }
  const chain = await resolveChain(flags);
  const standing = await readCreditAccount(chain, account);
  console.log(
    `compute credits of ${account} (chain ${chain.chainId}, ComputeCredits ${chain.contracts.computeCredits})`,
  );
  for (const line of describeCreditAccount(standing)) console.log(`  ${line}`);
  // The gateway answers for its API key's account: shown only when that is the account asked about.
  if (atGateway !== undefined && (atGateway.account === undefined || atGateway.account === account)) {
    for (const line of atGateway.lines) console.log(`  ${line}`);
  }
}

export function creditsCommand(): Command {
  // Positional: a flag after `deposit`, `withdraw` or `claim` is the subcommand's, not `credits`'s.
  const command = new Command('credits')
    .enablePositionalOptions()
    .description("a developer's compute credits: on-chain, at the gateway, deposit and withdraw NEU")
    .argument('[account]', 'whose (default: the --key account, else the API key account)', parseAccount)
    .option('--gateway <url>', 'the gateway (default: NEURINO_GATEWAY_URL, else the devnet)')
    .option('--api-key <key>', 'an API key of the account (default: NEURINO_API_KEY, else the devnet key)')
    .option('--no-gateway', 'do not ask the gateway')
    .action(
      async (
        account: Address | undefined,
        flags: Omit<ShowFlags, 'useGateway' | 'gateway'> & { gateway: string | boolean },
      ) => {
        const { gateway, ...rest } = flags;
        await show(account, {
          ...rest,
          useGateway: gateway !== false,
          ...(typeof gateway === 'string' ? { gateway } : {}),
        });
      },
    );
  keyOption(chainOptions(command));

  const deposit = new Command('deposit')
    .description('deposit NEU from the key account as credits (approving the token first when needed)')
    .argument('<neu>', 'how many NEU', parseAmount)
    .option('--for <address>', 'credit another account (default: the key account)', parseAccount)
    .action(async (amount: bigint, flags: WriteFlags) => {
      const { chain, wallet } = await signer(flags);
      const beneficiary = flags.for ?? wallet.account.address;
      const hash = await depositCredits(chain, wallet, amount, beneficiary);
      console.log(`deposited ${formatNeu(amount)} as credits of ${beneficiary} (${hash})`);
      for (const line of describeCreditAccount(await readCreditAccount(chain, beneficiary)))
        console.log(`  ${line}`);
    });
  const withdraw = new Command('withdraw')
    .description('ask to withdraw credits as NEU; claim them once ComputeCredits’ delay has passed')
    .argument('<neu>', 'how many NEU', parseAmount)
    .action(async (amount: bigint, flags: WriteFlags) => {
      const { chain, wallet } = await signer(flags);
      const hash = await requestCreditWithdrawal(chain, wallet, amount);
      console.log(`withdrawal of ${formatNeu(amount)} requested (${hash})`);
      for (const line of describeCreditAccount(await readCreditAccount(chain, wallet.account.address))) {
        console.log(`  ${line}`);
      }
    });
  const claim = new Command('claim')
    .description('claim a withdrawal that is due: the NEU go back to the key account')
    .action(async (flags: WriteFlags) => {
      const { chain, wallet } = await signer(flags);
      const { hash, paid } = await claimCreditWithdrawal(chain, wallet);
      console.log(`claimed ${formatNeu(paid)} to ${wallet.account.address} (${hash})`);
    });
  for (const sub of [deposit, withdraw, claim]) command.addCommand(keyOption(chainOptions(sub)));
  return command;
}
