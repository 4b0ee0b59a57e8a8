// The devnet's API key: created once in the router's database, reused while it still authenticates.
import type { Address } from 'viem';
import { ApiKeys } from '../../orchestration/metering/api-keys.ts';
import { openStore } from '../../orchestration/store/open-store.ts';

/** Opens the router's store briefly (PGlite allows one process at a time: call before the router starts). */
export async function ensureApiKey(options: {
  databaseDir: string;
  databaseUrl?: string;
  account: Address;
  previous?: string;
}): Promise<string> {
  const store = await openStore(
    options.databaseUrl ? { databaseUrl: options.databaseUrl } : { dataDir: options.databaseDir },
  );
  try {
    const keys = new ApiKeys(store);
    if (options.previous) {
      const known = await keys.authenticate(options.previous);
      if (known && known.account.toLowerCase() === options.account.toLowerCase()) return options.previous;
    }
    const created = await keys.create({ account: options.account, label: 'devnet' });
    return created.key;
  } finally {
    await store.close();
  }
}
