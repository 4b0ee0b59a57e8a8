// The node key: the secp256k1 key whose address is the node on-chain and signs every receipt.
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { getAddress, type Hex, isAddressEqual } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount } from 'viem/accounts';
import { fastAccount } from '../../protocol/fast-account.ts';
import { MinerError } from './errors.ts';

export const NODE_KEY_ENV = 'NEURINO_NODE_KEY';
const KEY_FILE_VERSION = 1;

export type NodeKeySource = 'flag' | 'env' | 'file';

export interface NodeKey {
  readonly account: PrivateKeyAccount;
  readonly source: NodeKeySource;
  /** The key file, when the key came from one. */
  readonly path?: string;
  /** True when this call generated the key and wrote the file. */
  readonly created: boolean;
}

export interface ResolveNodeKeyOptions {
  /** `--key`: wins over everything. */
  readonly key?: string | undefined;
  /** Where NEURINO_NODE_KEY is read from; defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Used when neither flag nor env gives a key; created on first run. */
  readonly keyFile: string;
}

/** `<dataDir>/miner/node-key.json`. */
export function defaultNodeKeyFile(dataDir: string): string {
  return join(dataDir, 'miner', 'node-key.json');
}

/** The key from `--key`, else NEURINO_NODE_KEY, else the key file (generated when it does not exist). */
export async function resolveNodeKey(options: ResolveNodeKeyOptions): Promise<NodeKey> {
  if (options.key !== undefined)
    return { account: accountFromKey(options.key, '--key'), source: 'flag', created: false };
  const fromEnv = (options.env ?? process.env)[NODE_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    return { account: accountFromKey(fromEnv, NODE_KEY_ENV), source: 'env', created: false };
  }
  const existing = await readNodeKeyFile(options.keyFile);
  if (existing !== undefined)
    return { account: existing, source: 'file', path: options.keyFile, created: false };
  const created = await createNodeKeyFile(options.keyFile);
  return { account: created.account, source: 'file', path: options.keyFile, created: created.created };
}

/** A private key as typed by people (with or without 0x); the message never repeats the key. */
export function accountFromKey(text: string, from: string): PrivateKeyAccount {
  const trimmed = text.trim();
  const key = (trimmed.startsWith('0x') ? trimmed : `0x${trimmed}`) as Hex;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new MinerError('invalid_key', `${from}: expected a private key of 32 bytes as 64 hex digits`);
  }
  try {
    return fastAccount(key);
  } catch (cause) {
    // Zero or above the curve order: 64 hex digits that are still no secp256k1 key.
    throw new MinerError('invalid_key', `${from}: not a valid secp256k1 private key`, { cause });
  }
}

/** The account in `path`, or undefined when there is no file. Refuses files others can read. */
export async function readNodeKeyFile(path: string): Promise<PrivateKeyAccount | undefined> {
  let text: string;
  try {
    await checkPermissions(path);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof MinerError) throw error;
    throw new MinerError('key_file_unreadable', `cannot read the node key file ${path}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MinerError('invalid_key', `node key file ${path} is not JSON`);
  }
  const { privateKey, address } = (parsed ?? {}) as { privateKey?: unknown; address?: unknown };
  if (typeof privateKey !== 'string') {
    throw new MinerError('invalid_key', `node key file ${path} has no "privateKey" string`);
  }
  const account = accountFromKey(privateKey, `node key file ${path}`);
  // The address is stored for people to read; a mismatch means the file was edited or damaged.
  if (typeof address === 'string' && !sameAddress(address, account.address)) {
    throw new MinerError(
      'invalid_key',
      `node key file ${path}: "address" does not belong to its private key`,
    );
  }
  return account;
}

/** Generates a key and writes it with mode 0600 (the directory 0700); never overwrites a file. */
export async function createNodeKeyFile(
  path: string,
): Promise<{ account: PrivateKeyAccount; created: boolean }> {
  const privateKey = generatePrivateKey();
  const account = fastAccount(privateKey);
  const body = {
    version: KEY_FILE_VERSION,
    address: account.address,
    privateKey,
    createdAt: new Date().toISOString(),
  };
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  } catch (error) {
    // Another process created it first: use theirs, so both agree on one node.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const existing = await readNodeKeyFile(path);
      if (existing !== undefined) return { account: existing, created: false };
    }
    throw new MinerError('key_file_unreadable', `cannot create the node key file ${path}`, { cause: error });
  }
  return { account, created: true };
}

/** What to tell an operator whose key was just generated. */
export function nodeKeyBackupAdvice(path: string, address: string): string {
  return [
    `Generated a new node key for ${address}, saved in ${path} (readable by you only).`,
    'Back it up now: copy the file somewhere safe and offline (e.g. an encrypted USB stick or a password',
    "manager). It controls the node's stake and earnings; whoever holds it can sign as this node, and if it",
    `is lost the node cannot be operated again. To run elsewhere, copy the file or pass it in ${NODE_KEY_ENV}.`,
  ].join('\n');
}

async function checkPermissions(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const info = await stat(path);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    throw new MinerError(
      'key_file_insecure',
      `node key file ${path} is accessible by other users (mode ${mode}); run: chmod 600 ${path}`,
      { details: { mode } },
    );
  }
}

function sameAddress(text: string, address: Hex): boolean {
  try {
    return isAddressEqual(getAddress(text), address);
  } catch {
    return false;
  }
}
