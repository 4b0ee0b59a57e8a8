// What starting a router takes (RouterOptions: the chain, the store, the pods, the serving limits) and
// what a running one offers its caller (RunningRouter); router-process.ts puts the parts together.

import type { Logger } from 'pino';
import type { Address, LocalAccount } from 'viem';
import type { AddressBook } from '../../chain/address-book.ts';
import type { ApiKeys } from '../../orchestration/metering/api-keys.ts';
import type { CreditLedger } from '../../orchestration/metering/credit-ledger.ts';
import type { JobStore } from '../../orchestration/metering/job-store.ts';
import type { JournalSync } from '../../orchestration/metering/journal-file.ts';
import type { Metering } from '../../orchestration/metering/metering.ts';
import type { DispatcherOptions } from '../../orchestration/router/dispatcher.ts';
import type { MinerHub, MinerHubOptions } from '../../orchestration/router/miner-hub.ts';
import type { CatalogChanges, PodCatalog } from '../../orchestration/router/pod-catalog.ts';
import type { SettlementBatcher } from '../../orchestration/settlement/settlement-batcher.ts';
import type { Store } from '../../orchestration/store/store.ts';
import type { PodSpec } from '../../protocol/pod-spec.ts';
import type { Gateway, GatewayOptions } from '../gateway/app.ts';

export interface RouterOptions {
  host?: string;
  /** 0 picks a free port (see `url`). */
  port?: number;
  rpcUrl: string;
  addressBook: AddressBook;
  /** The router key: holds ROUTER_ROLE on Settlement, attests stored receipts. */
  routerAccount: LocalAccount;
  /** A PostgreSQL server shared by several routers; without it PGlite runs in a worker thread of this process. */
  databaseUrl?: string;
  /**
   * The router's state directory: its metering journal (`journal/`) and, without `databaseUrl`, PGlite's
   * database (`db/`). Absent: PGlite in memory and no journal (each charge waits for its store commit).
   */
  dataDir?: string;
  /**
   * When an answered charge counts as kept by the journal. 'os' (default): written to the journal file, so
   * it survives a crash or kill of the router; a power loss or kernel crash may take the last ~1 ms of
   * charges (synced in the background). 'disk': on disk before the answer, so it survives a power loss
   * too, at ~0.5 ms more per paid request.
   */
  journalSync?: JournalSync;
  pods: readonly PodSpec[];
  /** Settle every `maxReceipts` receipts or once the oldest waited `maxDelayMs`. */
  batch: { maxReceipts: number; maxDelayMs: number };
  logger?: Logger;
  /** Bound into miner challenges; defaults to the router's address. */
  routerId?: string;
  gateway?: GatewayOptions;
  /** How long the Responses API keeps responses (default 30 days); 0 keeps none. */
  responseRetentionMs?: number;
  /**
   * Nodes the gateway's frontend refers its requests to (whitepaper 2.2.2, 3.2.5): preferred over the
   * others where the pod is as warm (a warm node still comes before a cold referred one), before the most
   * efficient, as a partnership between a frontend and compute providers (or an app developer's own GPUs)
   * would want. Needs `gateway.frontend`.
   */
  referredNodes?: readonly Address[];
  /** Miner heartbeat interval (default 5 s). */
  heartbeatMs?: number;
  /** Handshakes under way at once, in all and per address (see MinerHubOptions). */
  miners?: Pick<MinerHubOptions, 'maxHandshakes' | 'maxHandshakesPerAddress'>;
  dispatcher?: Pick<DispatcherOptions, 'acceptTimeoutMs' | 'maxQueueMs' | 'suspension'>;
  /**
   * The autoscaler (autoscaler.ts): pods kept warm on at least `autoscale.min` nodes and at most
   * `autoscale.max`, on one more node once their jobs would fill more than `busyShare` of the warm
   * nodes' slots (default 0.7; null: only the minimum kept ahead), and unloaded from nodes idle
   * `scaleDownIdleMs` (default 5 min; null: never) beyond that target.
   */
  autoscaler?: { scaleDownIdleMs?: number | null; busyShare?: number | null; intervalMs?: number };
  /** How long shutdown waits for running jobs and miners (default 10 s). */
  drainGraceMs?: number;
  /**
   * A listener of its own for /health, /metrics, /nodes and /pods (host default 127.0.0.1; port 0 picks
   * one), so the public port answers only /health of them. Without it all four are on the gateway's port.
   * With a `token`, every route there but /health asks for it, and operators manage API keys there
   * (`/admin/keys`); with a data dir, its URL is written to `operations.json` there while it runs.
   */
  operations?: { host?: string; port: number; token?: string };
}

export const DEFAULT_DRAIN_GRACE_MS = 10_000;

export interface RunningRouter {
  /** http://host:port of the gateway. */
  url: string;
  /** http://host:port of the operators' listener, when one was asked for. */
  operationsUrl: string | undefined;
  /** ws://host:port/v1/miners, where miners dial in. */
  wsUrl: string;
  apiKeys: ApiKeys;
  ledger: CreditLedger;
  /** Holds and charges credits; `flush()` waits until every charge so far is a stored receipt. */
  metering: Metering;
  jobs: JobStore;
  batcher: SettlementBatcher;
  hub: MinerHub;
  catalog: PodCatalog;
  gateway: Gateway;
  store: Store;
  /**
   * Serves exactly these pods from now on (the operator reloaded the spec files): see PodCatalog.replace.
   * Deployers are looked up again, so a pod registered since settles.
   */
  updatePods(specs: readonly PodSpec[]): Promise<CatalogChanges>;
  /** Graceful: refuse new work, finish running jobs, close miners, settle what is charged, close the store. */
  stop(): Promise<void>;
}
