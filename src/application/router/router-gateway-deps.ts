// How a router's own parts serve its gateway: one wiring for the router process and the test harness, so
// a test's gateway reads credits, jobs and nodes exactly as a deployed one does.
import type { Logger } from 'pino';
import { IdempotencyKeys } from '../../orchestration/metering/idempotency-keys.ts';
import type { JobStore } from '../../orchestration/metering/job-store.ts';
import { MeteredJobLog } from '../../orchestration/metering/metered-job-log.ts';
import type { Metering } from '../../orchestration/metering/metering.ts';
import { ReceiptAudits } from '../../orchestration/metering/receipt-audit.ts';
import { ConversationArchive } from '../../orchestration/responses/conversation-archive.ts';
import {
  DEFAULT_RESPONSE_RETENTION_MS,
  ResponseArchive,
} from '../../orchestration/responses/response-archive.ts';
import type { Autoscaler, PodScale } from '../../orchestration/router/autoscaler.ts';
import type { Dispatcher } from '../../orchestration/router/dispatcher.ts';
import type { MinerHub } from '../../orchestration/router/miner-hub.ts';
import type { NodeDirectory } from '../../orchestration/router/node-directory.ts';
import type { PodCatalog } from '../../orchestration/router/pod-catalog.ts';
import type { Store } from '../../orchestration/store/store.ts';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import type { GatewayDeps } from '../gateway/app.ts';
import type { ApiKeyAdmin, PodStatus } from '../gateway/ports.ts';

export interface RouterParts {
  store: Store;
  /** Authenticates requests; operators manage keys through it on their own listener. */
  apiKeys: GatewayDeps['apiKeys'] & ApiKeyAdmin;
  metering: Metering;
  jobs: JobStore;
  dispatcher: Dispatcher;
  catalog: PodCatalog;
  hub: MinerHub;
  nodes: NodeDirectory;
  /** Sizes the pods; without it neither `GET /pods` nor the autoscaler's metrics exist. */
  autoscaler?: Pick<Autoscaler, 'pods' | 'requests'> | undefined;
  logger: Logger;
  /** The EIP-712 domain of the router's receipts: callers read their receipts with it. */
  domain: ProtocolDomain;
  /** How long the Responses API keeps responses (default 30 days); 0 keeps none. */
  responseRetentionMs?: number | undefined;
}

/** The gateway's dependencies on `parts`; `extra` adds what only some routers have (chain, settlement). */
export function routerGatewayDeps(parts: RouterParts, extra: Partial<GatewayDeps> = {}): GatewayDeps {
  const { store, metering, hub, autoscaler } = parts;
  // One view of the pods for GET /pods and the metrics; the requests without sizing every pod.
  const scale = autoscaler && {
    requests: () => autoscaler.requests,
    pods: () => autoscaler.pods().map(podStatus),
  };
  return {
    apiKeys: parts.apiKeys,
    keyAdmin: parts.apiKeys,
    idempotency: new IdempotencyKeys(store),
    conversations: new ConversationArchive(store),
    ...(parts.responseRetentionMs === 0
      ? {}
      : {
          responses: new ResponseArchive(store, {
            retentionMs: parts.responseRetentionMs ?? DEFAULT_RESPONSE_RETENTION_MS,
            onPurgeError: (error) => parts.logger.warn({ err: error }, 'deleting expired responses failed'),
          }),
        }),
    ledger: metering,
    jobs: new MeteredJobLog(metering, parts.jobs),
    dispatcher: parts.dispatcher,
    catalog: parts.catalog,
    connectedNodes: () => hub.stats().connectedNodes,
    logger: parts.logger,
    metering: () => metering.stats(),
    miners: hub,
    nodes: parts.nodes,
    ...(scale === undefined ? {} : { pods: scale, autoscaler: scale }),
    credits: metering,
    receipts: new ReceiptAudits({
      store,
      domain: parts.domain,
      unstored: (publicId) => metering.unstored(publicId),
    }),
    ...extra,
    checks: {
      store: async () => {
        await store.query('select 1');
      },
      ...extra.checks,
    },
  };
}

function podStatus(pod: PodScale): PodStatus {
  return {
    podId: pod.podId,
    model: pod.name,
    aliases: pod.models.filter((model) => model !== pod.name),
    runtime: pod.runtime,
    warmNodes: pod.warm,
    targetNodes: pod.target,
    autoscale: { min: pod.min, max: pod.max },
    jobs: { running: pod.running, queued: pod.queued },
  };
}
