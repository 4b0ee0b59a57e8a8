// The operator token of a router's operators' listener: from `--operator-token-file`, else the environment
// (NEURINO_OPERATOR_TOKEN, for containers), else `<data-dir>/operator-token`, which the router makes on its
// first start with an operations port (readable by its owner only), so the operator never has to invent
// one and `neurino router keys …` on the same machine finds it. A token file others can read is refused.
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { operatorTokenProblem } from '../application/gateway/operator-auth.ts';
import { randomBase62 } from '../protocol/ids.ts';

export const OPERATOR_TOKEN_ENV = 'NEURINO_OPERATOR_TOKEN';
const TOKEN_FILE = 'operator-token';
/** ≈ 256 bits. */
const GENERATED_LENGTH = 43;

export interface OperatorToken {
  token: string;
  /** Where it came from, for messages: a file's path or the variable's name. */
  source: string;
}

export interface OperatorTokenFlags {
  operatorTokenFile?: string;
  dataDir: string;
}

export function defaultOperatorTokenFile(dataDir: string): string {
  return join(dataDir, TOKEN_FILE);
}

/** The token a router serves with; made in the data dir when none is given and none is there yet. */
export async function serveOperatorToken(flags: OperatorTokenFlags): Promise<OperatorToken> {
  const given = await givenOperatorToken(flags);
  if (given !== undefined) return given;
  const path = defaultOperatorTokenFile(flags.dataDir);
  await mkdir(flags.dataDir, { recursive: true });
  try {
    await writeFile(path, `${randomBase62(GENERATED_LENGTH)}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  } catch (error) {
    // Another start made it first, or it is there already: read what is there.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readTokenFile(path);
}

/** The token a client presents; none made (a router makes it), undefined when there is none. */
export async function findOperatorToken(flags: OperatorTokenFlags): Promise<OperatorToken | undefined> {
  const given = await givenOperatorToken(flags);
  if (given !== undefined) return given;
  return readTokenFile(defaultOperatorTokenFile(flags.dataDir), { optional: true });
}

/** A token named by flag or environment; none is looked for in a data dir. */
export async function givenOperatorToken(
  flags: Pick<OperatorTokenFlags, 'operatorTokenFile'>,
): Promise<OperatorToken | undefined> {
  if (flags.operatorTokenFile !== undefined) return readTokenFile(flags.operatorTokenFile);
  const fromEnv = process.env[OPERATOR_TOKEN_ENV];
  if (fromEnv === undefined || fromEnv === '') return undefined;
  return checked(fromEnv.trim(), OPERATOR_TOKEN_ENV);
}

/** The token in the file at `path`; with `optional`, undefined when there is no such file. */
async function readTokenFile(path: string): Promise<OperatorToken>;
async function readTokenFile(path: string, options: { optional: true }): Promise<OperatorToken | undefined>;
async function readTokenFile(path: string, options?: { optional: true }): Promise<OperatorToken | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (options?.optional === true && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InvalidArgumentError(`cannot read the operator token at ${path}: ${(error as Error).message}`);
  }
  await assertPrivate(path);
  return checked(text.trim(), path);
}

/** As ssh does with keys, and the miner with its node key: a secret others can read is refused. */
async function assertPrivate(path: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new InvalidArgumentError(
      `the operator token at ${path} is readable by other users (mode ${mode.toString(8).padStart(3, '0')}); run: chmod 600 ${path}`,
    );
  }
}

function checked(token: string, source: string): OperatorToken {
  const problem = operatorTokenProblem(token);
  if (problem !== undefined) throw new InvalidArgumentError(`${source}: ${problem}`);
  return { token, source };
}
