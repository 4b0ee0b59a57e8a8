// One process per PGlite directory: PGlite loads the database into the process that opens it, so a second
// opener (another router, `neurino router keys`) would see stale data or corrupt it. A pid file guards it.
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RetryableError } from '../../protocol/errors.ts';

const LOCK_FILE = 'router.pid';

export interface DataDirLock {
  release(): Promise<void>;
}

/** The pid of a live process holding `dir`, if any (a lock left by a crashed router does not count). */
export async function dataDirHolder(dir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, LOCK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

export async function lockDataDir(dir: string): Promise<DataDirLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const holder = await dataDirHolder(dir);
  if (holder !== undefined) {
    throw new RetryableError('service_unavailable', {
      message: `${dir} is in use by process ${holder}: stop it first, or share a PostgreSQL server (--database-url)`,
    });
  }
  await writeFile(path, `${process.pid}\n`);
  return {
    async release() {
      if ((await readFile(path, 'utf8').catch(() => '')).trim() === String(process.pid)) {
        await unlink(path).catch(() => {});
      }
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
