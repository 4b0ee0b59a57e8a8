// A devnet for the end-to-end tests and the soak: two miners, free ports, a data dir of its own and the
// router's store on the given backend (a fresh PGlite directory or PostgreSQL database).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Devnet, startDevnet } from '../../src/cli/devnet/network.ts';
import { freePort } from '../support/free-port.ts';
import type { StoreBackend, StoreTarget } from '../support/postgres.ts';

export interface TestDevnet {
  dataDir: string;
  target: StoreTarget;
  devnet: Devnet;
}

/** `routerArgs` set the router's settlement (batch size and delay) for what the test needs. */
export async function startTestDevnet(
  backend: StoreBackend,
  name: string,
  routerArgs: string[],
): Promise<TestDevnet> {
  const dataDir = await mkdtemp(join(tmpdir(), `neurino-${name}-${backend.kind}-`));
  const target = await backend.fresh();
  const devnet = await startDevnet({
    dataDir,
    ...(target.databaseUrl && { databaseUrl: target.databaseUrl }),
    chainPort: await freePort(),
    port: await freePort(),
    operationsPort: await freePort(),
    miners: 2,
    routerArgs,
  });
  return { dataDir, target, devnet };
}
