// vitest globalSetup: a throwaway PostgreSQL cluster for the suite, so store tests run against a real
// server as well as PGlite. Uses Debian's binaries when present; otherwise says the half is skipped.
// NEURINO_TEST_DATABASE_URL already set (an external server) is used as is; NEURINO_TEST_POSTGRES=off skips.
// Binaries present but a server that will not start fail the run: a silently skipped half hides bugs.
import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { freePort } from './free-port.ts';
import { DATABASE_URL_ENV, PROVIDED_DATABASE_URL } from './postgres-env.ts';

const run = promisify(execFile);
const POSTGRES_ROOT = '/usr/lib/postgresql';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env[DATABASE_URL_ENV];
  if (external) {
    project.provide(PROVIDED_DATABASE_URL, external);
    return undefined;
  }
  const bin = process.env.NEURINO_TEST_POSTGRES === 'off' ? undefined : await findPostgresBin();
  const asRoot = userInfo().uid === 0;
  if (bin === undefined) {
    console.warn(
      `[postgres] no PostgreSQL binaries under ${POSTGRES_ROOT} (or NEURINO_TEST_POSTGRES=off): the PostgreSQL half of the store tests is skipped`,
    );
    project.provide(PROVIDED_DATABASE_URL, null);
    return undefined;
  }

  const dir = await mkdtemp(join(tmpdir(), 'neurino-pg-'));
  const data = join(dir, 'data');
  // initdb and pg_ctl refuse to run as root: hand the directory to the postgres user and run as it.
  const asPostgres = async (command: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]]
      : [join(bin, command), args];
    return run(file, argv, { cwd: dir, timeout: 60_000 });
  };
  if (asRoot) await chown(dir, ...(await postgresIds()));

  const port = await freePort();
  try {
    await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    const serverOptions = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`;
    await asPostgres('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-o',
      serverOptions,
      'start',
    ]);
  } catch (error) {
    const log = await readFile(join(dir, 'server.log'), 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(
      `[postgres] cannot start the test server (${bin}): ${String(error)}\n${log.slice(-2_000)}`,
    );
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  process.env[DATABASE_URL_ENV] = url;
  project.provide(PROVIDED_DATABASE_URL, url);
  console.info(`[postgres] test server on 127.0.0.1:${port} (${bin})`);

  return async () => {
    await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
}

/** The newest installed major version's bin directory, when it has initdb and pg_ctl. */
async function findPostgresBin(): Promise<string | undefined> {
  let versions: string[];
  try {
    versions = await readdir(POSTGRES_ROOT);
  } catch {
    return undefined;
  }
  for (const version of versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))) {
    const bin = join(POSTGRES_ROOT, version, 'bin');
    const files = await readdir(bin).catch(() => [] as string[]);
    if (files.includes('initdb') && files.includes('pg_ctl')) return bin;
  }
  return undefined;
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return [Number(uid.trim()), Number(gid.trim())];
}
