// What `neurino miner` and its on-chain subcommands share: the chain flags, the node key (made on first
// use, with backup advice), the address book, and NEU amounts.
import { type Command, InvalidArgumentError } from 'commander';
import { type AddressBook, readAddressBook } from '../chain/address-book.ts';
import { connect } from '../chain/clients.ts';
import { embeddedChainPaths } from '../chain/embedded-chain.ts';
import { MinerError } from '../compute/miner/errors.ts';
import {
  defaultNodeKeyFile,
  type NodeKey,
  nodeKeyBackupAdvice,
  resolveNodeKey,
} from '../compute/miner/node-key.ts';
import { redactUrl } from '../protocol/redact-url.ts';
import { parseNeu } from '../protocol/units.ts';
import { DEFAULT_DATA_DIR } from './options.ts';

export interface ChainOptions {
  key?: string;
  keyFile?: string;
  dataDir: string;
  rpcUrl: string;
  addresses?: string;
}

export function parseStake(value: string): bigint {
  try {
    return parseNeu(value);
  } catch {
    throw new InvalidArgumentError(`expected an amount of NEU such as 1000 or 0.5, got "${value}"`);
  }
}

export function withChainOptions(command: Command): Command {
  return command
    .option('--key <hex>', 'node private key (else env NEURINO_NODE_KEY, else the key file)')
    .option(
      '--key-file <file>',
      'node key file, created on first run (default <data-dir>/miner/node-key.json)',
    )
    .option('--data-dir <dir>', 'where the miner keeps its key and models', DEFAULT_DATA_DIR)
    .option('--rpc-url <url>', 'JSON-RPC endpoint of the chain', 'http://127.0.0.1:8545')
    .option('--addresses <file>', 'address book of the deployment (default <data-dir>/chain/addresses.json)');
}

/**
 * The subcommand's options with the parent's: unless the root program enables positional options,
 * `miner` takes the flags it shares with `register` (`--key`, `--stake`, ...) even when they follow
 * `register`. A value someone set (flag or env) wins over a default, wherever it landed.
 */
export function explicitOptions<T>(command: Command): T {
  const chain = command.parent === null ? [command] : [command.parent, command];
  const merged: Record<string, unknown> = {};
  for (const cmd of chain) for (const [name, value] of Object.entries(cmd.opts())) merged[name] ??= value;
  for (const cmd of chain) {
    for (const [name, value] of Object.entries(cmd.opts())) {
      const source = cmd.getOptionValueSource(name);
      if (source !== undefined && source !== 'default') merged[name] = value;
    }
  }
  return merged as T;
}

export async function nodeKey(options: ChainOptions): Promise<NodeKey> {
  const key = await resolveNodeKey({
    key: options.key,
    keyFile: options.keyFile ?? defaultNodeKeyFile(options.dataDir),
  });
  if (key.created && key.path !== undefined)
    console.error(`\n${nodeKeyBackupAdvice(key.path, key.account.address)}\n`);
  return key;
}

export async function addressBook(options: ChainOptions): Promise<AddressBook> {
  const path = options.addresses ?? embeddedChainPaths(options.dataDir).addressBook;
  const book = await readAddressBook(path);
  if (book === undefined) {
    throw new MinerError(
      'invalid_config',
      `no address book at ${path}: pass --addresses (written by \`neurino deploy\`), or run \`neurino devnet\` first`,
    );
  }
  return book;
}

/** The chain at `--rpc-url`, failing in words when it cannot be reached. */
export async function connectChain(options: ChainOptions) {
  return connect(options.rpcUrl).catch((cause: unknown) => {
    throw new MinerError('chain_error', `cannot reach the chain at ${redactUrl(options.rpcUrl)}`, { cause });
  });
}
