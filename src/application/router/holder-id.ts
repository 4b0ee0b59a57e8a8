// The id under which a router holds credit leases. Kept in its data directory so a restarted router
// recognises (and gives back) the leases of its previous run; without one, each run has a fresh id and
// a crashed run's leases simply expire.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Address } from 'viem';

const HOLDER_FILE = 'lease-holder';

export async function leaseHolderId(router: Address, dataDir?: string): Promise<string> {
  const fresh = `${router.toLowerCase()}:${randomUUID()}`;
  if (dataDir === undefined) return fresh;
  const path = join(dataDir, HOLDER_FILE);
  try {
    const stored = (await readFile(path, 'utf8')).trim();
    if (stored.startsWith(`${router.toLowerCase()}:`)) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // A new directory, or one that served another router key: this key's leases start afresh.
  await writeFile(path, `${fresh}\n`, { mode: 0o600 });
  return fresh;
}
