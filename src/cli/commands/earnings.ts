// `neurino earnings`: what nodes, pod deployers and frontends earned from settled batches (Settlement keeps
// each share until its owner claims it), and `neurino earnings claim` to take it out in NEU. The chain and
// contracts default to the local devnet's, whose earners are listed when no account is named.
import { Command } from 'commander';
import type { Address } from 'viem';
import { walletClientFor } from '../../chain/clients.ts';
import { FatalError } from '../../protocol/errors.ts';
import {
  type ChainFlags,
  chainOptions,
  formatNeu,
  type KeyFlags,
  keyAccount,
  keyOption,
  parseAccount,
  resolveChain,
} from '../chain-flags.ts';
import { type DevnetEarner, readDevnetFile } from '../devnet-file.ts';
import { claimEarnings, describeEarnings, readEarnings, totalUnclaimed } from '../settlement-earnings.ts';

type Flags = ChainFlags & KeyFlags;

/** Whose earnings to show: the accounts named, else the key's, else the devnet's earners. */
async function earnersOf(accounts: Address[], flags: Flags): Promise<DevnetEarner[]> {
  if (accounts.length > 0) return accounts.map((address) => ({ role: 'account', address }));
  const key = await keyAccount(flags);
  if (key !== undefined) return [{ role: 'key', address: key.address }];
  const earners = (await readDevnetFile(flags.dataDir))?.earners ?? [];
  if (earners.length === 0) {
    throw new FatalError('invalid_request', {
      message: 'whose earnings? name accounts, or pass --key or --key-file (or run it beside a devnet)',
    });
  }
  return earners;
}

async function show(accounts: Address[], flags: Flags): Promise<void> {
  const earners = await earnersOf(accounts, flags);
  const chain = await resolveChain(flags);
  const [rows, total] = await Promise.all([
    Promise.all(earners.map((earner) => readEarnings(chain, earner.address))),
    totalUnclaimed(chain),
  ]);
  console.log(`earnings on chain ${chain.chainId} (Settlement ${chain.contracts.settlement})`);
  const width = Math.max(...earners.map((e) => e.role.length));
  for (const [index, earner] of earners.entries()) {
    const row = rows[index];
    if (row !== undefined)
      console.log(`  ${earner.role.padEnd(width)}  ${earner.address}  ${describeEarnings(row)}`);
  }
  console.log(`  all parties: ${formatNeu(total)} not claimed yet`);
}

export function earningsCommand(): Command {
  // Positional: a flag after `claim` is the subcommand's, not `earnings`'.
  const command = new Command('earnings')
    .enablePositionalOptions()
    .description('what nodes, pod deployers and frontends earned from settled batches, and claiming it')
    .argument(
      '[accounts...]',
      'whose (default: the key account, else the devnet’s earners)',
      (value, previous: Address[] = []) => [...previous, parseAccount(value)],
    )
    .option('--key-file <file>', "a key file, such as a miner's node-key.json")
    .action((accounts: Address[] | undefined, flags: Flags) => show(accounts ?? [], flags));
  keyOption(chainOptions(command));

  const claim = new Command('claim')
    .description('claim all the key account’s earnings in NEU, to itself or to --to')
    .option('--to <address>', 'send them to another address (default: the key account)', parseAccount)
    .option('--key-file <file>', "a key file, such as a miner's node-key.json")
    .action(async (flags: Flags & { to?: Address }) => {
      const account = await keyAccount(flags);
      if (account === undefined) {
        throw new FatalError('invalid_request', {
          message: 'whose earnings? a key is needed: --key, NEURINO_KEY or --key-file',
        });
      }
      const chain = await resolveChain(flags);
      const wallet = walletClientFor(chain.publicClient.chain, account);
      const { hash, paid, to } = await claimEarnings(chain, wallet, flags.to);
      console.log(`claimed ${formatNeu(paid)} earned by ${account.address}, paid to ${to} (${hash})`);
    });
  command.addCommand(keyOption(chainOptions(claim)));
  return command;
}
