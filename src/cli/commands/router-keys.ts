// `neurino router keys create|list|revoke`: developers' API keys in a router's store. The command opens
// the store itself when it can (a PostgreSQL server, or a PGlite directory no router holds); when a
// running router holds its PGlite directory, or `--operations-url` names one, it asks the router's
// operators' listener instead (`/admin/keys`, with the operator token), so keys are made and revoked
// without stopping the router, and a revoke takes effect there at once.
import { Command, InvalidArgumentError } from 'commander';
import { dataDirHolder, lockDataDir } from '../../application/router/data-dir-lock.ts';
import { readOperationsFile } from '../../application/router/operations-file.ts';
import { routerDatabaseDir } from '../../application/router-process.ts';
import { ApiKeys } from '../../orchestration/metering/api-keys.ts';
import { openStore } from '../../orchestration/store/open-store.ts';
import { KeyAdminClient, type KeyManager } from '../key-admin-client.ts';
import { findOperatorToken, OPERATOR_TOKEN_ENV, type OperatorTokenFlags } from '../operator-token.ts';
import { parseAddress, parsePositiveInt } from '../options.ts';

export interface StoreFlags {
  databaseUrl?: string;
  dataDir: string;
}

interface ListFlags {
  account?: `0x${string}`;
  prefix?: string;
  limit: number;
  after?: string;
}

interface KeysFlags extends StoreFlags, OperatorTokenFlags {
  operationsUrl?: string;
}

/** The router's store: a PostgreSQL server when given (flag or DATABASE_URL), else PGlite in the data dir. */
export function storeChoice(flags: StoreFlags): { databaseUrl: string } | { dataDir: string } {
  const databaseUrl = databaseUrlOf(flags);
  return databaseUrl === undefined ? { dataDir: flags.dataDir } : { databaseUrl };
}

/** The PostgreSQL server given by flag or DATABASE_URL, if any. */
export function databaseUrlOf(flags: StoreFlags): string | undefined {
  const url = flags.databaseUrl ?? process.env.DATABASE_URL;
  return url ? url : undefined;
}

export function keysCommand(): Command {
  const keys = new Command('keys')
    .description("manage developers' API keys (each pays from its account's credits)")
    .option(
      '--operations-url <url>',
      "a running router's operators' listener to manage keys through (default: the store, or the router holding --data-dir)",
    );
  keys
    .command('create')
    .description('create a key for an account; the key is printed once, only its hash is stored')
    .requiredOption(
      '--account <address>',
      'the credit account that pays for requests made with the key',
      parseAddress,
    )
    .option('--label <text>', 'a name to recognise the key by')
    .action(async (flags: { account: `0x${string}`; label?: string }, cmd: Command) => {
      await withKeys(cmd, async (apiKeys) => {
        const { id, key } = await apiKeys.create({
          account: flags.account,
          ...(flags.label && { label: flags.label }),
        });
        console.log(key);
        console.error(
          `key ${id} for ${flags.account}: shown once, store it now (the router keeps only its hash)`,
        );
      });
    });
  keys
    .command('list')
    .description('list keys newest first (id, prefix, account, state, label), never the keys themselves')
    .option('--account <address>', "only this credit account's keys", parseAddress)
    .option('--prefix <nrn_…>', 'only the key a shown prefix (nrn_Ab3x) or a whole leaked key names')
    .option('--limit <n>', 'at most this many', parsePositiveInt, 50)
    .option('--after <key id>', 'continue after this key (the last of the previous list)')
    .action(async (flags: ListFlags, cmd: Command) => {
      await withKeys(cmd, async (apiKeys) => {
        const found = await apiKeys.find({
          account: flags.account,
          prefix: flags.prefix,
          limit: flags.limit + 1,
          after: flags.after,
        });
        for (const k of found.slice(0, flags.limit)) {
          const state =
            k.revokedAt === undefined ? 'active' : `revoked ${new Date(k.revokedAt).toISOString()}`;
          console.log(`${k.id}  ${k.prefix}…  ${k.account}  ${state}  ${k.label ?? ''}`.trimEnd());
        }
        const last = found[flags.limit - 1];
        if (found.length > flags.limit && last !== undefined) {
          console.error(`more keys: repeat with --after ${last.id}`);
        }
      });
    });
  keys
    .command('revoke <id>')
    .description('revoke a key by its id')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      await withKeys(cmd, async (apiKeys) => {
        if (!(await apiKeys.revoke(id))) throw new InvalidArgumentError(`no active key ${id}`);
        console.error(`key ${id} revoked`);
      });
    });
  return keys;
}

async function withKeys(cmd: Command, use: (apiKeys: KeyManager) => Promise<void>): Promise<void> {
  const flags = cmd.optsWithGlobals<KeysFlags>();
  const choice = storeChoice(flags);
  const operationsUrl =
    flags.operationsUrl ?? ('dataDir' in choice ? await heldBy(choice.dataDir) : undefined);
  if (operationsUrl !== undefined) {
    const found = await findOperatorToken(flags);
    if (found === undefined) {
      throw new InvalidArgumentError(
        `no operator token for ${operationsUrl}: --operator-token-file or ${OPERATOR_TOKEN_ENV}`,
      );
    }
    await use(new KeyAdminClient(operationsUrl, found.token));
    return;
  }
  await withStore(choice, (store) => use(new ApiKeys(store)));
}

/** The operators' listener of a running router holding `dataDir`, or undefined when none holds it. */
async function heldBy(dataDir: string): Promise<string | undefined> {
  const holder = await dataDirHolder(dataDir);
  if (holder === undefined) return undefined;
  const endpoint = await readOperationsFile(dataDir);
  if (endpoint === undefined || endpoint.pid !== holder) {
    throw new InvalidArgumentError(
      `${dataDir} is in use by router process ${holder}, which has no operators' listener: ` +
        'start it with --operations-port to manage keys while it runs, or stop it first',
    );
  }
  return endpoint.url;
}

/** Opens the router's store; a PGlite directory only while no router holds it (PGlite is one process). */
async function withStore(
  choice: { databaseUrl: string } | { dataDir: string },
  use: (store: Awaited<ReturnType<typeof openStore>>) => Promise<void>,
): Promise<void> {
  const lock = 'dataDir' in choice ? await lockDataDir(choice.dataDir) : undefined;
  const options = 'dataDir' in choice ? { dataDir: routerDatabaseDir(choice.dataDir) } : choice;
  const store = await openStore(options).catch(async (error) => {
    await lock?.release();
    throw error;
  });
  try {
    await use(store);
  } finally {
    await store.close();
    await lock?.release();
  }
}
