// What the gateway needs from the rest of the router, as narrow interfaces: the store's ApiKeys,
// CreditLedger and JobStore, the router core's Dispatcher and PodCatalog satisfy them structurally.
import type { Address, Hex } from 'viem';
import type { ApiKeyInfo, CreatedApiKey, KeyFilter } from '../../orchestration/metering/api-keys.ts';
import type { IdempotencyClaim } from '../../orchestration/metering/idempotency-keys.ts';
import type { JobPage } from '../../orchestration/metering/job-page.ts';
import type {
  DispatchBudget,
  DispatchHooks,
  DispatchJob,
  DispatchResult as DispatchOutcome,
} from '../../orchestration/router/dispatch-types.ts';
import type { NodeStatus } from '../../orchestration/router/node-directory.ts';
import type { ConversationMetadata } from '../../protocol/openai-conversations.ts';
import type { ContextItem } from '../../protocol/openai-responses-api-items.ts';
import type { ResponseObject } from '../../protocol/openai-responses-api-output.ts';
import type { ResponseEvent } from '../../protocol/openai-responses-api-stream.ts';
import type { JobKind, PodSpec } from '../../protocol/pod-spec.ts';
import type { Receipt } from '../../protocol/receipt.ts';
import type { ReceiptAuditAnswer } from '../../protocol/receipt-audit.ts';

/** Who pays for a request: the API key's id and the credit account it is tied to. */
export interface Principal {
  id: string;
  account: Address;
}

export interface ApiKeyAuthenticator {
  authenticate(key: string): Promise<Principal | undefined>;
  /** The key's principal when known without asking the store, else undefined. */
  known?(key: string): Principal | undefined;
}

/** What operators do with developers' keys while the router runs (the store's ApiKeys). */
export interface ApiKeyAdmin {
  /** The key is in the answer only: the store keeps its hash. */
  create(input: { account: Address; label?: string | undefined }): Promise<CreatedApiKey>;
  /** Newest first: an account's, or those a key or its shown prefix names; paged by `after`. */
  find(filter: KeyFilter): Promise<ApiKeyInfo[]>;
  exists(id: string): Promise<boolean>;
  /** True when the key existed and was active; refused at once by this router from then on. */
  revoke(id: string): Promise<boolean>;
}

/** Idempotency keys of the jobs API (the store's IdempotencyKeys). */
export interface IdempotencyClaims {
  claim(p: { payer: Address; key: string; request: unknown; publicId: string }): Promise<IdempotencyClaim>;
  forget(p: { payer: Address; key: string; publicId: string }): Promise<void>;
}

/** Stored responses of the Responses API (the store's ResponseArchive), kept per credit account. */
export interface ResponseStore {
  save(p: {
    id: string;
    payer: Address;
    apiKeyId: string;
    response: ResponseObject;
    context: readonly ContextItem[];
    /** A background response's job deadline (ms): unfinished past it, its router was lost. */
    deadlineAt?: number | undefined;
    /** A streamed background response's events so far (`[]`): GET ?stream=true replays them. */
    events?: readonly ResponseEvent[] | undefined;
  }): Promise<void>;
  /** Undefined when missing, expired or another account's. */
  find(id: string, payer: Address): Promise<KeptResponse | undefined>;
  remove(id: string, payer: Address): Promise<boolean>;
  /** A queued background response began on a node (`in_progress`), unless it had left `queued`. */
  started(id: string, payer: Address, response: ResponseObject): Promise<boolean>;
  /** Ends a background response (a streamed one with all its events) unless it ended already. */
  finish(
    id: string,
    payer: Address,
    response: ResponseObject,
    events?: readonly ResponseEvent[],
  ): Promise<boolean>;
  /** A streamed background response's events as kept; undefined when it was not streamed. */
  events(id: string, payer: Address): Promise<ResponseEvent[] | undefined>;
}

/** A response as the store keeps it. */
export interface KeptResponse {
  response: ResponseObject;
  context: ContextItem[];
  deadlineAt?: number | undefined;
  /** Created in the background with stream: true: its events can be read again. */
  streamed?: boolean | undefined;
}

/** A job's end as the jobs log keeps it, with its attempts (kept in memory while it ran). */
export interface JobEnd {
  status: FinishedJobStatus;
  errorCode?: string;
  result?: unknown;
  attempts: Array<{
    attemptId: Hex;
    node: Address;
    status: FinishedJobStatus;
    errorCode?: string;
    startedAt: number;
    finishedAt: number;
  }>;
}

/**
 * Holds, charges and frees a job's credits; each step also logs the job. A step resolves once durable
 * (the router's journal, or the store), so an answered charge survives a crash.
 */
export interface CreditReservations {
  /** Holds the job's credits; refused (402) the job is logged as failed. `logNow`: log it as queued now. */
  reserve(p: {
    jobId: Hex;
    payer: Address;
    amount: bigint;
    job: { publicId: string; apiKeyId: string; podId: Hex; kind: JobKind; createdAt?: number };
    logNow?: boolean;
  }): Promise<unknown>;
  charge(p: {
    jobId: Hex;
    receipt: Receipt;
    receiptHash?: Hex;
    nodeSignature: Hex;
    ending: (charged: bigint) => JobEnd;
  }): Promise<{ charged: bigint }>;
  release(jobId: Hex, ending: JobEnd): Promise<unknown>;
  /** A job logged when accepted began its first attempt: log it as running (best effort, not awaited). */
  started?(jobId: Hex): Promise<void>;
}

/** A job the client cancelled (went away) ends `cancelled`, like its running attempt. */
export type FinishedJobStatus = 'succeeded' | 'failed' | 'cancelled';

/** The job as the jobs log keeps it (only what GET /v1/jobs/:id reads). */
export interface LoggedJob {
  publicId: string;
  payer: Address;
  podId: Hex;
  status: string;
  createdAt: number;
  attempts: number;
  result: unknown;
  error: { code: string; message: string } | undefined;
  /** From the job's receipt, once charged. */
  usage: { computeUnits: bigint; price: bigint; inputTokens: number; outputTokens: number } | undefined;
}

/** The jobs log as the gateway reads it; the ledger's steps write it (see CreditReservations). */
export interface JobLog {
  get(publicId: string): Promise<LoggedJob | undefined>;
  /** The payer's jobs-API jobs, newest first (see orchestration/metering/job-page.ts). */
  listApiJobs(payer: Address, page: JobPage): Promise<LoggedJob[]>;
}

/** Where a credit account stands, in wei (GET /v1/credits; the metering's CreditStanding). */
export interface CreditAccounts {
  standing(
    account: Address,
  ): Promise<{ balance: bigint; unsettled: bigint; held: bigint; available: bigint }>;
}

/** A job's stored receipt with its evidence, for its payer to audit (GET /v1/receipts/:id). */
export interface ReceiptLookup {
  byPublicId(publicId: string): Promise<ReceiptAuditAnswer | undefined>;
}

// The dispatcher's own request and answer types: one definition, so the port cannot drift from it.
export type {
  DispatchBudget,
  DispatchHooks,
  DispatchJob,
  DispatchResult as DispatchOutcome,
} from '../../orchestration/router/dispatch-types.ts';

export interface JobDispatcher {
  dispatch(job: DispatchJob, budget: DispatchBudget, hooks: DispatchHooks): Promise<DispatchOutcome>;
}

export interface CatalogEntry {
  podId: Hex;
  spec: PodSpec;
  pricePerUnit: bigint;
  deployer?: Address | undefined;
}

export interface ModelCatalog {
  byModel(name: string): CatalogEntry | undefined;
  byId(podId: Hex): CatalogEntry | undefined;
  list(): readonly CatalogEntry[];
}

/** The settlement batcher's figures the metrics expose. */
export interface SettlementStats {
  /** Age of the oldest receipt not yet settled on-chain, ms (0 when none). */
  settlementLagMs: number;
  unsettledReceipts: number;
  batchesSettled: number;
  receiptsSettled: number;
  /** Unsettled receipts set aside because their payers' credits were short on-chain. */
  setAsideReceipts: number;
}

/**
 * What the router's autoscaler asked of nodes, and each pod as it sizes it (as GET /pods tells it), read
 * when metrics are scraped.
 */
export interface AutoscalerStats extends PodList {
  /** `pod.load` and `pod.unload` requests sent since the start. */
  requests(): { readonly load: number; readonly unload: number };
}

/** The metering's store backlog, read when metrics are scraped. */
export interface MeteringBacklog {
  /** Steps durable in the journal, not yet in the store. */
  unstored: number;
  /** True while the store refuses writes and ingestion waits to retry. */
  storeRetrying: boolean;
  /** Entries the store refused for their data since the start (kept in rejected.jsonl). */
  rejected: number;
}

/** The miner endpoint's counts since the start, for /metrics. */
export interface MinerEndpointStats {
  /** Handshakes under way now. */
  handshaking: number;
  /** Handshakes refused, by code (unregistered, unstaked, jailed, bad signature, shed when busy, ...). */
  refusals: Partial<Record<string, number>>;
  /** Frames that failed to decode or came out of turn. */
  badFrames: number;
  /** Sessions dropped for missing heartbeats. */
  heartbeatTimeouts: number;
}

export {
  NODE_STATES,
  type NodeState,
  type NodeStatus,
} from '../../orchestration/router/node-directory.ts';

/** The connected nodes as the router sees them (GET /nodes); the router core's NodeDirectory. */
export interface NodeList {
  nodes(): NodeStatus[];
}

/** A pod the router serves, as its autoscaler sizes it (GET /pods). */
export interface PodStatus {
  podId: Hex;
  /** The spec's name: what clients ask for as `model`. */
  model: string;
  /** Other names it answers to. */
  aliases: string[];
  runtime: string;
  /** Connected nodes holding it warm, draining ones not counted. */
  warmNodes: number;
  /** How many the autoscaler aims at: `autoscale.min`, or what the pod's jobs need, at most `max`. */
  targetNodes: number;
  autoscale: { min: number; max: number };
  /** Its jobs now: running on nodes, and waiting for a free slot. */
  jobs: { running: number; queued: number };
}

export interface PodList {
  pods(): PodStatus[];
}

/**
 * Rate-limit counts shared by the routers of one store: hits per limiter and key in the current minute
 * of the clock, as this router knows them (others' hits seen within about a second).
 */
export interface RateCounter {
  hit(limiter: string, key: string): { current: number; resetAt: number };
  peek(limiter: string, key: string): { current: number; resetAt: number };
}

/** The Conversations API's conversations, each for one credit account (see ConversationArchive). */
export interface ConversationStore {
  create(p: {
    id: string;
    payer: Address;
    apiKeyId: string;
    metadata: ConversationMetadata;
    items: readonly ContextItem[];
  }): Promise<KeptConversation>;
  /** Undefined when missing or another account's. */
  find(id: string, payer: Address): Promise<KeptConversation | undefined>;
  update(id: string, payer: Address, metadata: ConversationMetadata): Promise<KeptConversation | undefined>;
  remove(id: string, payer: Address): Promise<boolean>;
  /** Adds items after the others (an id there already is left out); false when there is no such one. */
  add(id: string, payer: Address, items: readonly ContextItem[]): Promise<boolean>;
  /** Its items in order (the last `last` when given); undefined when there is no such conversation. */
  items(id: string, payer: Address, last?: number): Promise<ContextItem[] | undefined>;
  keptIds(id: string, payer: Address, ids: readonly string[]): Promise<Set<string>>;
  item(id: string, payer: Address, itemId: string): Promise<ContextItem | undefined>;
  /** `limit` items after `after`, and one more when there are. */
  page(
    id: string,
    payer: Address,
    query: { limit: number; order: 'asc' | 'desc'; after?: string | undefined },
  ): Promise<ContextItem[]>;
  removeItem(id: string, payer: Address, itemId: string): Promise<boolean>;
}

export interface KeptConversation {
  id: string;
  /** ms */
  createdAt: number;
  metadata: ConversationMetadata;
}
