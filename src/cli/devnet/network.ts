// The devnet as a value: chain, contracts, tiny pod, funded accounts, a router process and miner processes.
// `neurino devnet` prints it; end-to-end tests drive it (kill a miner, restart the router).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { routerDatabaseDir } from '../../application/router-process.ts';
import type { AddressBook } from '../../chain/address-book.ts';
import { chainFor, type NeurinoPublicClient, publicClientFor, walletClientFor } from '../../chain/clients.ts';
import { DEV_ROLES, devAccount, devPrivateKey, devRoleAccount } from '../../chain/dev-accounts.ts';
import { type EmbeddedChain, embeddedChainPaths, startEmbeddedChain } from '../../chain/embedded-chain.ts';
import { ensurePodRegistered } from '../../chain/pod-registration.ts';
import { describeFile, ggufPodSpec } from '../../compute/miner/local-pods.ts';
import { ensureTinyModel, TINY_MODEL_NAME } from '../../compute/model/tiny-model.ts';
import { canonicalPodSpec, type PodSpec } from '../../protocol/pod-spec.ts';
import { type DevnetFile, devnetFilePath, writeDevnetFile } from '../devnet-file.ts';
import { ensureApiKey } from './api-key.ts';
import { type DevnetChild, spawnNeurino, waitFor } from './child-process.ts';
import { ensureCredits, ensureMinerStaked } from './fund.ts';
import { assertPortFree } from './port-free.ts';

export interface DevnetOptions {
  dataDir: string;
  chainPort: number;
  /** Gateway port; miners dial ws://127.0.0.1:<port>/v1/miners. */
  port: number;
  /** The router's operators' port (/metrics, /nodes, /pods, /admin/keys behind the operator token). */
  operationsPort: number;
  miners: number;
  databaseUrl?: string;
  /** Extra flags for `neurino router` (e.g. a short settlement interval in tests). */
  routerArgs?: string[];
  onStep?: (text: string) => void;
}

export interface Devnet {
  readonly chain: EmbeddedChain;
  readonly rpcUrl: string;
  readonly book: AddressBook;
  readonly publicClient: NeurinoPublicClient;
  readonly gatewayUrl: string;
  /** The router's operators' listener: /metrics, /nodes, /pods, /admin/keys behind the operator token. */
  readonly operationsUrl: string;
  /** Where the router keeps its operator token. */
  readonly operatorTokenFile: string;
  readonly apiKey: string;
  readonly developer: Address;
  readonly spec: PodSpec;
  readonly podId: Hex;
  readonly modelPath: string;
  readonly logDir: string;
  router: DevnetChild | undefined;
  readonly miners: Map<number, DevnetChild>;
  startRouter(): Promise<DevnetChild>;
  /** Miner `index` (0-based) with dev account firstMiner+index, staked on first use. */
  startMiner(index: number): Promise<DevnetChild>;
  /** Resolves once the gateway reports at least `count` connected miners. */
  waitForNodes(count: number, timeoutMs?: number): Promise<void>;
  /** Miners first (they drain), then the router (it settles), then the chain (it saves). */
  stop(): Promise<void>;
}

async function readPrevious(dataDir: string): Promise<Partial<DevnetFile>> {
  try {
    return JSON.parse(await readFile(devnetFilePath(dataDir), 'utf8')) as Partial<DevnetFile>;
  } catch {
    return {};
  }
}

export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const step = options.onStep ?? (() => {});
  const { dataDir } = options;
  step('chain: starting anvil');
  const chain = await startEmbeddedChain({ dataDir, port: options.chainPort, onStep: step });
  try {
    return await assemble(options, chain, step);
  } catch (error) {
    await chain.stop();
    throw error;
  }
}

async function assemble(
  options: DevnetOptions,
  chain: EmbeddedChain,
  step: (text: string) => void,
): Promise<Devnet> {
  const { dataDir } = options;
  const rpcUrl = chain.anvil.rpcUrl;
  const publicClient = publicClientFor(chainFor(chain.book.chainId, rpcUrl));
  const addressesFile = embeddedChainPaths(dataDir).addressBook;
  const logDir = join(dataDir, 'logs');

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
    pod.registered ? `pod: registered ${TINY_MODEL_NAME} ${pod.podId}` : `pod: ${TINY_MODEL_NAME} on-chain`,
  );

  const funding = { publicClient, book: chain.book, treasury: devRoleAccount('deployer') };
  const developer = devRoleAccount('developer').address;
  await ensureCredits(funding, developer);
  step(`credits: developer ${developer} funded`);

  const routerDir = join(dataDir, 'router');
  const previous = await readPrevious(dataDir);
  const apiKey = await ensureApiKey({
    databaseDir: routerDatabaseDir(routerDir),
    account: developer,
    ...(options.databaseUrl && { databaseUrl: options.databaseUrl }),
    ...(previous.apiKey && { previous: previous.apiKey }),
  });
  const gatewayUrl = `http://127.0.0.1:${options.port}`;

  const health = async (): Promise<{ nodes?: { connected?: number } } | undefined> => {
    const response = await fetch(`${gatewayUrl}/health`, { signal: AbortSignal.timeout(2_000) });
    return (await response.json()) as { nodes?: { connected?: number } };
  };

  const devnet: Devnet = {
    chain,
    rpcUrl,
    book: chain.book,
    publicClient,
    gatewayUrl,
    operationsUrl: `http://127.0.0.1:${options.operationsPort}`,
    operatorTokenFile: join(routerDir, 'operator-token'),
    apiKey,
    developer,
    spec,
    podId: pod.podId,
    modelPath: model.path,
    logDir,
    router: undefined,
    miners: new Map(),
    async startRouter() {
      step('router: starting the gateway');
      await assertPortFree('127.0.0.1', options.port, 'router', '--port');
      await assertPortFree(
        '127.0.0.1',
        options.operationsPort,
        "router's operators' port",
        '--operations-port',
      );
      const args = ['router', '--rpc-url', rpcUrl, '--addresses', addressesFile, '--host', '127.0.0.1'];
      args.push('--port', String(options.port), '--data-dir', routerDir, '--pod', specFile);
      // Operators' endpoints on a port of their own, behind the token the router makes in its data dir;
      // keys can then be made while the devnet runs (`neurino router keys create --data-dir …`).
      args.push('--operations-port', String(options.operationsPort));
      // The devnet's gateway is a frontend too: its share of each payment goes to the frontend dev account.
      args.push('--frontend', devRoleAccount('frontend').address);
      if (options.databaseUrl) args.push('--database-url', options.databaseUrl);
      args.push(...(options.routerArgs ?? []));
      const child = await spawnNeurino('router', args, {
        logDir,
        env: { NEURINO_ROUTER_KEY: devPrivateKey(DEV_ROLES.router) },
      });
      devnet.router = child;
      // Up once both ports answer (the operators' opens after the gateway's).
      const operationsUp = async () =>
        (await fetch(`${devnet.operationsUrl}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
      await waitFor('router', async () => (await health()) !== undefined && (await operationsUp()), {
        timeoutMs: 90_000,
        child,
      });
      return child;
    },
    async startMiner(index: number) {
      const outcome = await ensureMinerStaked(funding, devAccount(DEV_ROLES.firstMiner + index));
      step(`miner ${index + 1}: ${outcome === 'registered' ? 'registered and staked' : 'staked'}; starting`);
      const args = ['miner', '--router', `ws://127.0.0.1:${options.port}/v1/miners`, '--rpc-url', rpcUrl];
      args.push(
        '--addresses',
        addressesFile,
        '--model',
        model.path,
        '--data-dir',
        join(dataDir, `miner-${index + 1}`),
      );
      const child = await spawnNeurino(`miner-${index + 1}`, args, {
        logDir,
        env: { NEURINO_NODE_KEY: devPrivateKey(DEV_ROLES.firstMiner + index) },
      });
      devnet.miners.set(index, child);
      return child;
    },
    async waitForNodes(count: number, timeoutMs = 120_000) {
      await waitFor(
        `${count} miners connected`,
        async () => ((await health())?.nodes?.connected ?? 0) >= count,
        {
          timeoutMs,
        },
      );
    },
    async stop() {
      await Promise.all([...devnet.miners.values()].map((child) => child.stop()));
      await devnet.router?.stop();
      await chain.stop();
    },
  };

  await devnet.startRouter();
  for (let i = 0; i < options.miners; i++) await devnet.startMiner(i);
  await devnet.waitForNodes(options.miners);
  await writeDevnetFile(dataDir, {
    rpcUrl,
    chainId: chain.book.chainId,
    contracts: chain.book.contracts,
    gatewayUrl,
    baseUrl: `${gatewayUrl}/v1`,
    operationsUrl: devnet.operationsUrl,
    operatorTokenFile: devnet.operatorTokenFile,
    apiKey,
    earners: [
      ...Array.from({ length: options.miners }, (_, index) => ({
        role: `node ${index + 1}`,
        address: devAccount(DEV_ROLES.firstMiner + index).address,
      })),
      { role: 'pod deployer', address: devRoleAccount('podDeployer').address },
      { role: 'frontend', address: devRoleAccount('frontend').address },
    ],
  });
  return devnet;
}
