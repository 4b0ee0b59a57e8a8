// The router as one process: store, credit ledger, jobs log and settlement batcher (metering), miner hub,
// scheduler and dispatcher (router core), and the gateway on one HTTP port with miners on `/v1/miners`.
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Address } from 'viem';
import { chainFor, publicClientFor, walletClientFor } from '../chain/clients.ts';
import { SharedRateCounts } from '../orchestration/limits/shared-rate-counts.ts';
import { ApiKeys } from '../orchestration/metering/api-keys.ts';
import { CreditLedger } from '../orchestration/metering/credit-ledger.ts';
import { type CreditsSource, chainCreditsSource } from '../orchestration/metering/credits-source.ts';
import { JobStore } from '../orchestration/metering/job-store.ts';
import { openMetering } from '../orchestration/metering/open-metering.ts';
import { AUTOSCALER_DEFAULTS, Autoscaler } from '../orchestration/router/autoscaler.ts';
import { chainNodeAdmission } from '../orchestration/router/chain-node-admission.ts';
import { Dispatcher } from '../orchestration/router/dispatcher.ts';
import { MinerHub } from '../orchestration/router/miner-hub.ts';
import { NodeDirectory } from '../orchestration/router/node-directory.ts';
import { PodCatalog } from '../orchestration/router/pod-catalog.ts';
import { Scheduler } from '../orchestration/router/scheduler.ts';
import { UptimeTracker } from '../orchestration/router/uptime-tracker.ts';
import { SettlementBatcher } from '../orchestration/settlement/settlement-batcher.ts';
import { openStore } from '../orchestration/store/open-store.ts';
import type { ProtocolDomain } from '../protocol/eip712-domain.ts';
import { FatalError } from '../protocol/errors.ts';
import { receiptAttestationDigest } from '../protocol/receipt-attestation.ts';
import { redactUrl } from '../protocol/redact-url.ts';
import { buildGateway } from './gateway/app.ts';
import { createLogger } from './gateway/logger.ts';
import { assertRouterRole, podDeployer } from './router/chain-checks.ts';
import { lockDataDir } from './router/data-dir-lock.ts';
import { leaseHolderId } from './router/holder-id.ts';
import { writeOperationsFile } from './router/operations-file.ts';
import { routerGatewayDeps } from './router/router-gateway-deps.ts';
import { DEFAULT_DRAIN_GRACE_MS, type RouterOptions, type RunningRouter } from './router/router-options.ts';
import { type DeployerLookup, podsWithDeployers, reloadPods } from './router/router-pods.ts';

/** Where a router's PGlite database lives under its data directory. */
export function routerDatabaseDir(dataDir: string): string {
  return join(dataDir, 'db');
}

export async function startRouter(options: RouterOptions): Promise<RunningRouter> {
  const logger = options.logger ?? createLogger();
  const { addressBook: book, routerAccount } = options;
  const frontend = options.gateway?.frontend;
  const referredNodes = options.referredNodes ?? [];
  if (referredNodes.length > 0 && frontend === undefined) {
    throw new FatalError('invalid_request', {
      message: "referred nodes are a frontend's: give the gateway a frontend address",
    });
  }
  const chain = chainFor(book.chainId, options.rpcUrl);
  const publicClient = publicClientFor(chain);
  const chainId = await publicClient.getChainId();
  if (chainId !== book.chainId) {
    throw new FatalError('invalid_request', {
      message: `${redactUrl(options.rpcUrl)} is chain ${chainId}, the address book is for chain ${book.chainId}`,
    });
  }
  const { settlement, computeCredits, nodeRegistry, podRegistry } = book.contracts;
  await assertRouterRole(publicClient, settlement, routerAccount.address);
  const domain: ProtocolDomain = { chainId, verifyingContract: settlement };
  const signDigest = routerAccount.sign;
  if (signDigest === undefined) {
    throw new FatalError('invalid_request', {
      message: 'the router account must sign digests (a local key)',
    });
  }

  // Everything started so far, stopped newest first should a later step fail.
  const cleanups: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    // One router per data directory: its journal (and PGlite database) belong to one process.
    const lock = options.dataDir !== undefined ? await lockDataDir(options.dataDir) : undefined;
    if (lock !== undefined) cleanups.push(() => lock.release());
    const store = await openStore({
      ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
      ...(options.dataDir === undefined || options.databaseUrl !== undefined
        ? {}
        : { dataDir: routerDatabaseDir(options.dataDir) }),
      maintenance: {
        onError: (error, statement) => logger.warn({ err: error, statement }, 'PGlite maintenance failed'),
      },
      onListenError: (error) =>
        logger.warn(
          { err: error },
          'the PostgreSQL connection hearing of revoked keys failed; it is made again, and cached keys are checked anew',
        ),
      onIdleError: (error) =>
        logger.warn(
          { err: error },
          'PostgreSQL ended an idle connection; the pool opens a new one when needed',
        ),
    });
    cleanups.push(() => store.close());
    const apiKeys = new ApiKeys(store);
    cleanups.push(await apiKeys.watchRevocations());
    // Routers sharing a server count their rate limits together; PGlite has one router.
    const rateCounts =
      store.kind === 'postgres'
        ? new SharedRateCounts(store, {
            onSyncError: (error) =>
              logger.warn({ err: error }, 'syncing rate-limit counts failed; counting on locally'),
          })
        : undefined;
    if (rateCounts !== undefined) {
      rateCounts.start();
      cleanups.push(() => rateCounts.stop());
    }
    const jobs = new JobStore(store);
    const credits: CreditsSource = chainCreditsSource({ publicClient, computeCredits });
    const ledger = new CreditLedger({ store, credits });
    const opened = await openMetering({
      store,
      credits,
      holder: await leaseHolderId(routerAccount.address, options.dataDir),
      journalDir: options.dataDir === undefined ? undefined : join(options.dataDir, 'journal'),
      journalSync: options.journalSync,
      logger: logger.child({ part: 'metering' }),
      attester: {
        router: routerAccount.address,
        sign: (message) => signDigest({ hash: receiptAttestationDigest(domain, message) }),
      },
    });
    cleanups.push(() => opened.close());
    const { metering } = opened;
    const batcher = new SettlementBatcher({
      store,
      publicClient,
      walletClient: walletClientFor(chain, routerAccount),
      settlement,
      maxReceipts: options.batch.maxReceipts,
      maxDelayMs: options.batch.maxDelayMs,
      logger: logger.child({ part: 'settlement' }),
    });
    await batcher.start();
    cleanups.push(() => batcher.stop());

    const deployerOf: DeployerLookup = (podId) => podDeployer(publicClient, podRegistry, podId);
    const catalog = new PodCatalog();
    catalog.replace(await podsWithDeployers(options.pods, deployerOf, logger));
    const hub = new MinerHub({
      routerId: options.routerId ?? routerIdOf(routerAccount.address),
      domain,
      admission: chainNodeAdmission({ publicClient, nodeRegistry }),
      logger: logger.child({ part: 'miners' }),
      ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
      ...options.miners,
    });
    cleanups.push(() => hub.close({ graceMs: 0 }));
    const scheduler = new Scheduler();
    if (frontend !== undefined && referredNodes.length > 0) scheduler.setReferrals(frontend, referredNodes);
    const uptime = new UptimeTracker();
    const dispatcher = new Dispatcher({
      hub,
      scheduler,
      catalog,
      uptime,
      logger: logger.child({ part: 'dispatcher' }),
      ...options.dispatcher,
    });
    cleanups.push(() => dispatcher.close());
    const scaleDownIdleMs = options.autoscaler?.scaleDownIdleMs;
    const busyShare = options.autoscaler?.busyShare;
    const autoscaler = new Autoscaler({
      hub,
      scheduler,
      catalog,
      demand: dispatcher,
      busyShare: busyShare === null ? undefined : (busyShare ?? AUTOSCALER_DEFAULTS.busyShare),
      logger: logger.child({ part: 'autoscaler' }),
      scaleDownIdleMs:
        scaleDownIdleMs === null ? undefined : (scaleDownIdleMs ?? AUTOSCALER_DEFAULTS.scaleDownIdleMs),
      ...(options.autoscaler?.intervalMs === undefined ? {} : { intervalMs: options.autoscaler.intervalMs }),
    });
    autoscaler.start();
    cleanups.push(() => autoscaler.stop());
    const nodes = new NodeDirectory({
      hub,
      scheduler,
      uptime,
      catalog,
      paces: (node) => dispatcher.pacesOf(node),
    });

    const gateway = await buildGateway(
      routerGatewayDeps(
        {
          store,
          apiKeys,
          metering,
          jobs,
          dispatcher,
          catalog,
          hub,
          nodes,
          autoscaler,
          logger,
          domain,
          responseRetentionMs: options.responseRetentionMs,
        },
        {
          ...(rateCounts === undefined ? {} : { rateCounts }),
          settlement: () => batcher.stats(),
          checks: { chain: async () => ({ blockNumber: Number(await publicClient.getBlockNumber()) }) },
        },
      ),
      {
        ...options.gateway,
        ...(options.operations === undefined ? {} : { separateOperations: true }),
        ...(options.operations?.token === undefined ? {} : { operatorToken: options.operations.token }),
      },
    );
    cleanups.push(() => gateway.app.close());
    await gateway.app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
    const url = listeningUrl(gateway.app, options.host ?? '127.0.0.1');
    const { operations } = gateway;
    let operationsUrl: string | undefined;
    let forgetOperationsUrl: (() => Promise<void>) | undefined;
    if (operations !== undefined && options.operations !== undefined) {
      const host = options.operations.host ?? '127.0.0.1';
      cleanups.push(() => operations.close());
      await operations.listen({ host, port: options.operations.port });
      operationsUrl = listeningUrl(operations, host);
      if (options.dataDir !== undefined) {
        forgetOperationsUrl = await writeOperationsFile(options.dataDir, operationsUrl);
        cleanups.push(forgetOperationsUrl);
      }
    }
    logger.info(
      {
        url,
        ...(operationsUrl === undefined ? {} : { operationsUrl }),
        router: routerAccount.address,
        pods: catalog.size,
        store: store.kind,
        ...(frontend === undefined ? {} : { frontend }),
        ...(referredNodes.length === 0 ? {} : { referredNodes }),
      },
      'router listening',
    );

    const graceMs = options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS;
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        logger.info('router stopping: draining requests');
        autoscaler.stop();
        await withTimeout(gateway.drain(), graceMs);
        await hub.close({ graceMs });
        dispatcher.close();
        await gateway.app.close();
        await operations?.close();
        await forgetOperationsUrl?.();
        await rateCounts?.stop();
        try {
          // Journaled charges into the store first, so they settle now rather than at the next start.
          await opened.close();
        } catch (error) {
          logger.error(
            { err: error },
            'metering did not reach the store; the journal keeps it for the next start',
          );
        }
        try {
          await batcher.flush();
        } catch (error) {
          // Not lost: the receipts stay in the store and settle on the next start.
          logger.error({ err: error }, 'final settlement failed; receipts settle on the next start');
        }
        await batcher.stop();
        await store.close();
        await lock?.release();
        logger.info('router stopped');
      })();
      return stopping;
    };
    return {
      url,
      operationsUrl,
      wsUrl: `${url.replace(/^http/, 'ws')}/v1/miners`,
      apiKeys,
      ledger,
      metering,
      jobs,
      batcher,
      hub,
      catalog,
      gateway,
      store,
      updatePods: (specs) => reloadPods(catalog, specs, deployerOf, logger),
      stop,
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

function routerIdOf(address: Address): string {
  return `router-${address.slice(2, 10).toLowerCase()}`;
}

function listeningUrl(app: FastifyInstance, host: string): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const shown = host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

/** Waits for `promise`, but no longer than `ms` (shutdown must end even if a job hangs). */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
