// What the commands that talk to the chain on a person's behalf (`neurino credits`, `neurino earnings`)
// share: which chain and contracts (flags, else the local devnet's), whose key, and how to print NEU.
import { type Command, InvalidArgumentError } from 'commander';
import { type Address, formatEther, getAddress, isAddress } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { privateKeyToAccount } from 'viem/accounts';
import { type ContractAddresses, readAddressBook } from '../chain/address-book.ts';
import { connect, type NeurinoPublicClient } from '../chain/clients.ts';
import { readNodeKeyFile } from '../compute/miner/node-key.ts';
import { FatalError, RetryableError } from '../protocol/errors.ts';
import { readDevnetFile } from './devnet-file.ts';
import { DEFAULT_DATA_DIR, parseHexKey } from './options.ts';

export interface ChainFlags {
  rpcUrl?: string;
  addresses?: string;
  dataDir: string;
}

export interface KeyFlags {
  key?: `0x${string}`;
  keyFile?: string;
}

export interface ResolvedChain {
  publicClient: NeurinoPublicClient;
  contracts: ContractAddresses;
  chainId: number;
}

export const formatNeu = (wei: bigint) => `${formatEther(wei)} NEU`;

export function parseAccount(value: string): Address {
  if (!isAddress(value, { strict: false })) throw new InvalidArgumentError(`not an address: "${value}"`);
  return getAddress(value);
}

/** The chain and contracts to use: flags, else the devnet's; its chain id checked against the book's. */
export async function resolveChain(flags: ChainFlags): Promise<ResolvedChain> {
  const devnet = await readDevnetFile(flags.dataDir);
  const rpcUrl = flags.rpcUrl ?? devnet?.rpcUrl;
  const book = flags.addresses === undefined ? undefined : await readAddressBook(flags.addresses);
  if (flags.addresses !== undefined && book === undefined) {
    throw new FatalError('invalid_request', { message: `no address book at ${flags.addresses}` });
  }
  const contracts = book?.contracts ?? devnet?.contracts;
  if (rpcUrl === undefined || contracts === undefined) {
    throw new FatalError('invalid_request', {
      message: 'no chain: pass --rpc-url and --addresses (or run it beside a devnet)',
    });
  }
  const { chain, publicClient } = await connect(rpcUrl).catch((cause: unknown) => {
    throw new RetryableError('chain_error', { message: `cannot reach the chain at ${rpcUrl}`, cause });
  });
  const expected = book?.chainId ?? devnet?.chainId;
  if (expected !== undefined && expected !== chain.id) {
    throw new FatalError('invalid_request', {
      message: `the address book is for chain ${expected}, but ${rpcUrl} is chain ${chain.id}`,
    });
  }
  return { publicClient, contracts, chainId: chain.id };
}

/** The key account: --key, else NEURINO_KEY, else --key-file (a miner's node key file); or none. */
export async function keyAccount(flags: KeyFlags): Promise<PrivateKeyAccount | undefined> {
  const env = process.env.NEURINO_KEY;
  const key = flags.key ?? (env ? parseHexKey(env) : undefined);
  if (key !== undefined) return privateKeyToAccount(key);
  if (flags.keyFile === undefined) return undefined;
  const account = await readNodeKeyFile(flags.keyFile);
  if (account === undefined) {
    throw new FatalError('invalid_request', { message: `no key file at ${flags.keyFile}` });
  }
  return account;
}

export const chainOptions = (command: Command) =>
  command
    .option('--rpc-url <url>', 'the chain (default: the devnet)')
    .option('--addresses <file>', 'address book of the deployed contracts (default: the devnet)')
    .option('--data-dir <dir>', "where the devnet's devnet.json is", DEFAULT_DATA_DIR);

export const keyOption = (command: Command) =>
  command.option('--key <hex>', 'the account key (else NEURINO_KEY)', parseHexKey);
