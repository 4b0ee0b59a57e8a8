// `neurino devnet` (`npm start`): the whole network on this machine — the embedded chain with the
// contracts, the router+gateway, and local miners serving the tiny model — each part its own process.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { routerDatabaseDir } from '../../application/router-process.ts';
import { chainFor, publicClientFor, walletClientFor } from '../../chain/clients.ts';
import { DEV_ROLES, devAccount, devPrivateKey, devRoleAccount } from '../../chain/dev-accounts.ts';
import { embeddedChainPaths, startEmbeddedChain } from '../../chain/embedded-chain.ts';
import { ensurePodRegistered } from '../../chain/pod-registration.ts';
import { describeFile, ggufPodSpec } from '../../compute/miner/local-pods.ts';
import { ensureTinyModel, TINY_MODEL_NAME } from '../../compute/model/tiny-model.ts';
import { canonicalPodSpec } from '../../protocol/pod-spec.ts';
import { ensureApiKey } from '../devnet/api-key.ts';
import { type DevnetChild, spawnNeurino, waitFor } from '../devnet/child-process.ts';
import { ensureCredits, ensureMinerStaked } from '../devnet/fund.ts';
import { whatToTry } from '../devnet/what-to-try.ts';
import { type DevnetFile, devnetFilePath, writeDevnetFile } from '../devnet-file.ts';
import { DEFAULT_DATA_DIR, parsePort, parsePositiveInt } from '../options.ts';
import { isShuttingDown, onShutdown, shutdown } from '../shutdown.ts';

interface DevnetOptions {
  dataDir: string;
  chainPort: number;
  port: number;
  miners: number;
  databaseUrl?: string;
}

export function devnetCommand(): Command {
  return new Command('devnet')
    .description('bring up the whole network on this machine: chain, contracts, router+gateway, miners')
    .option('--data-dir <dir>', 'where every part keeps its state', DEFAULT_DATA_DIR)
    .option('--chain-port <port>', 'JSON-RPC port of the embedded chain', parsePort, 8545)
    .option('--port <port>', 'gateway port (miners dial ws://127.0.0.1:<port>/v1/miners)', parsePort, 8080)
    .option('--miners <n>', 'local miners serving the tiny model', parsePositiveInt, 2)
    .option('--database-url <url>', 'a PostgreSQL server for the router (default: PGlite under --data-dir)')
    .action(async (options: DevnetOptions) => {
      await runDevnet(options);
    });
}

async function readPrevious(dataDir: string): Promise<Partial<DevnetFile>> {
  try {
    return JSON.parse(await readFile(devnetFilePath(dataDir), 'utf8')) as Partial<DevnetFile>;
  } catch {
    return {};
  }
}

async function runDevnet(options: DevnetOptions): Promise<void> {
  const started = Date.now();
  const step = (text: string) => console.error(`  [${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);
  const { dataDir } = options;
  const logDir = join(dataDir, 'logs');
  const children: DevnetChild[] = [];

  step('chain: starting anvil');
  const chain = await startEmbeddedChain({ dataDir, port: options.chainPort, onStep: step });
  onShutdown(() => chain.stop());
  // Runs before the chain stops (newest first): miners drain, the router settles what it charged.
  onShutdown(async () => {
    step('stopping miners, then the router, then the chain');
    const miners = children.filter((child) => child.name.startsWith('miner'));
    await Promise.all(miners.map((child) => child.stop()));
    await Promise.all(children.filter((child) => !miners.includes(child)).map((child) => child.stop()));
  });
  const addressesFile = embeddedChainPaths(dataDir).addressBook;
  const rpcUrl = chain.anvil.rpcUrl;
  const publicClient = publicClientFor(chainFor(chain.book.chainId, rpcUrl));

  step('pod: generating the tiny model');
  const model = await ensureTinyModel(join(dataDir, 'models'));
  const spec = ggufPodSpec({ name: TINY_MODEL_NAME, ...(await describeFile(model.path)) });
  const specFile = join(dataDir, 'pods', `${TINY_MODEL_NAME}.json`);
  await mkdir(join(dataDir, 'pods'), { recursive: true });
  await writeFile(specFile, `${canonicalPodSpec(spec)}\n`);
  const pod = await ensurePodRegistered({
    publicClient,
    walletClient: walletClientFor(publicClient.chain, devRoleAccount('podDeployer')),
    podRegistry: chain.book.contracts.podRegistry,
    spec,
  });
  step(
    pod.registered
      ? `pod: registered ${TINY_MODEL_NAME} (${pod.podId})`
      : `pod: ${TINY_MODEL_NAME} already registered`,
  );

  const funding = { publicClient, book: chain.book, treasury: devRoleAccount('deployer') };
  const developer = devRoleAccount('developer');
  await ensureCredits(funding, developer.address);
  step(`credits: developer ${developer.address} funded`);
  for (let i = 0; i < options.miners; i++) {
    const outcome = await ensureMinerStaked(funding, devAccount(DEV_ROLES.firstMiner + i));
    step(`miner ${i + 1}: ${outcome === 'registered' ? 'registered and staked' : 'already staked'}`);
  }

  const previous = await readPrevious(dataDir);
  const routerDir = join(dataDir, 'router');
  const apiKey = await ensureApiKey({
    databaseDir: routerDatabaseDir(routerDir),
    account: developer.address,
    ...(options.databaseUrl && { databaseUrl: options.databaseUrl }),
    ...(previous.apiKey && { previous: previous.apiKey }),
  });

  step('router: starting the gateway');
  const gatewayUrl = `http://127.0.0.1:${options.port}`;
  const router = await spawnNeurino(
    'router',
    [
      'router',
      '--rpc-url',
      rpcUrl,
      '--addresses',
      addressesFile,
      '--host',
      '127.0.0.1',
      '--port',
      String(options.port),
      '--data-dir',
      routerDir,
      '--pod',
      specFile,
      ...(options.databaseUrl ? ['--database-url', options.databaseUrl] : []),
    ],
    { logDir, env: { NEURINO_ROUTER_KEY: devPrivateKey(DEV_ROLES.router) } },
  );
  children.push(router);
  await waitFor('router', async () => (await fetch(`${gatewayUrl}/health`)).status < 500, {
    timeoutMs: 60_000,
    child: router,
  });

  for (let i = 0; i < options.miners; i++) {
    step(`miner ${i + 1}: starting`);
    const miner = await spawnNeurino(
      `miner-${i + 1}`,
      [
        'miner',
        '--router',
        `ws://127.0.0.1:${options.port}/v1/miners`,
        '--rpc-url',
        rpcUrl,
        '--addresses',
        addressesFile,
        '--model',
        model.path,
        '--data-dir',
        join(dataDir, `miner-${i + 1}`),
      ],
      { logDir, env: { NEURINO_NODE_KEY: devPrivateKey(DEV_ROLES.firstMiner + i) } },
    );
    children.push(miner);
  }
  await waitFor(
    'miners',
    async () => {
      const health = (await (await fetch(`${gatewayUrl}/health`)).json()) as {
        nodes?: { connected?: number };
      };
      return (health.nodes?.connected ?? 0) >= options.miners;
    },
    { timeoutMs: 120_000 },
  );

  const devnet: DevnetFile = {
    rpcUrl,
    chainId: chain.book.chainId,
    contracts: chain.book.contracts,
    gatewayUrl,
    apiKey,
  };
  const file = await writeDevnetFile(dataDir, devnet);
  step('ready');
  console.log(`\nNeurino devnet is up (${options.miners} miners serving ${TINY_MODEL_NAME}).\n`);
  console.log(`gateway     ${gatewayUrl}/v1`);
  console.log(`API key     ${apiKey}   (credits of ${developer.address})`);
  console.log(`chain       ${rpcUrl} (chain id ${chain.book.chainId})`);
  console.log(`logs        ${logDir}/`);
  console.log(`state       ${file}\n`);
  console.log(whatToTry({ gatewayUrl, apiKey }, TINY_MODEL_NAME));
  console.log('\nCtrl-C stops everything; the next start reuses the state.');

  // A part that dies takes the devnet down with a pointer to its log, rather than leaving it half up.
  for (const child of children) {
    void child.exited.then(async (code) => {
      if (isShuttingDown()) return;
      console.error(`\n${child.name} exited (code ${code}); see ${child.logFile}. Stopping the devnet.`);
      await shutdown(1);
    });
  }
}
