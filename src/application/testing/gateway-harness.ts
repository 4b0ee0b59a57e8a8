// Tests only: a gateway on loopback over the real parts (PGlite store, ApiKeys, CreditLedger, JobStore,
// MinerHub, Scheduler, Dispatcher) with miner peers speaking the real protocol over WebSocket. Credits come
// from a table here instead of the chain; the chain-backed source runs in the router-process test.

import { pino } from 'pino';
import { type Address, getAddress, type Hex, type LocalAccount } from 'viem';
import { devAccount } from '../../chain/dev-accounts.ts';
import { ApiKeys } from '../../orchestration/metering/api-keys.ts';
import { CreditLedger } from '../../orchestration/metering/credit-ledger.ts';
import type { CreditsSource } from '../../orchestration/metering/credits-source.ts';
import { JobStore } from '../../orchestration/metering/job-store.ts';
import type { Metering } from '../../orchestration/metering/metering.ts';
import { openMetering } from '../../orchestration/metering/open-metering.ts';
import { AUTOSCALER_DEFAULTS, Autoscaler } from '../../orchestration/router/autoscaler.ts';
import { Dispatcher } from '../../orchestration/router/dispatcher.ts';
import { MinerHub } from '../../orchestration/router/miner-hub.ts';
import { allowlistNodeAdmission } from '../../orchestration/router/node-admission.ts';
import { NodeDirectory } from '../../orchestration/router/node-directory.ts';
import { PodCatalog } from '../../orchestration/router/pod-catalog.ts';
import { Scheduler } from '../../orchestration/router/scheduler.ts';
import { MinerPeer, testCapabilities } from '../../orchestration/router/testing/miner-peer.ts';
import { UptimeTracker } from '../../orchestration/router/uptime-tracker.ts';
import { openStore } from '../../orchestration/store/open-store.ts';
import type { Store } from '../../orchestration/store/store.ts';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import type { JobAssign, ToolCallDelta } from '../../protocol/messages/jobs.ts';
import type { ToolCallOut } from '../../protocol/openai-responses.ts';
import { type PodSpec, podId } from '../../protocol/pod-spec.ts';
import { buildGateway, type Gateway, type GatewayOptions } from '../gateway/app.ts';
import { routerGatewayDeps } from '../router/router-gateway-deps.ts';

export const TEST_DOMAIN: ProtocolDomain = {
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
};

/** Dev accounts 10… are the test miners. */
export const minerAccount = (i: number): LocalAccount => devAccount(10 + i);

export function testPodSpec(overrides: Partial<PodSpec> = {}): PodSpec {
  return {
    name: 'test-llm',
    runtime: 'llama-cpp',
    kinds: ['chat', 'completion', 'embeddings'],
    artifact: { uri: 'file://models/test.gguf', sha256: 'ab'.repeat(32) },
    minVramMiB: 0,
    deterministic: false,
    validation: { method: 'llm-distribution' },
    pricePerUnit: 1_000n,
    deployerShareBps: 1_000,
    autoscale: { min: 0, max: 4 },
    ...overrides,
  };
}

export interface GatewayHarness {
  store: Store;
  apiKeys: ApiKeys;
  ledger: CreditLedger;
  metering: Metering;
  jobs: JobStore;
  hub: MinerHub;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
  catalog: PodCatalog;
  gateway: Gateway;
  url: string;
  wsUrl: string;
  spec: PodSpec;
  podId: Hex;
  /** On-chain credits as the ledger sees them, by payer. */
  balances: Map<Address, bigint>;
  /** A fresh API key for `account`, funded with `balance` wei of credits. */
  key(account: Address, balance?: bigint): Promise<string>;
  /** A miner peer that passed the handshake and is schedulable; `serve` answers its assignments. */
  peer(
    index: number,
    serve?: (peer: MinerPeer, assign: JobAssign) => void | Promise<void>,
  ): Promise<MinerPeer>;
  /** Resolves once `count` nodes are schedulable (e.g. after a peer left). */
  nodesAvailable(count: number): Promise<void>;
  /** http://127.0.0.1:port of the operators' listener (gateway option `separateOperations`), listening. */
  operationsUrl(): Promise<string>;
  close(): Promise<void>;
}

export async function startGatewayHarness(
  options: {
    gateway?: GatewayOptions;
    specs?: PodSpec[];
    suspendMs?: number;
    /** How long a node has to acknowledge an assignment (the dispatcher's default otherwise). */
    acceptTimeoutMs?: number;
    /** How long a job may wait for a free slot (default 2 s, so tests of a full queue end soon). */
    maxQueueMs?: number;
    /** How long responses are kept (0: none), as the router's option. */
    responseRetentionMs?: number;
  } = {},
): Promise<GatewayHarness> {
  const logger = pino({ level: process.env.NEURINO_TEST_LOG ?? 'silent' });
  const store = await openStore();
  const balances = new Map<Address, bigint>();
  const credits: CreditsSource = {
    maxAgeMs: 0,
    balanceOf: async (payer) => balances.get(getAddress(payer)) ?? 0n,
  };
  const apiKeys = new ApiKeys(store);
  const ledger = new CreditLedger({ store, credits });
  // No journal: each step commits to the store. Leases re-read the balances at every hold, since tests
  // change them between requests.
  const opened = await openMetering({ store, credits, holder: 'test-router', logger, revalidateMs: 0 });
  const { metering } = opened;
  const jobs = new JobStore(store);
  const specs = options.specs ?? [testPodSpec()];
  const catalog = new PodCatalog(specs);
  const miners = Array.from({ length: 6 }, (_, i) => minerAccount(i).address);
  const hub = new MinerHub({
    routerId: 'test-router',
    domain: TEST_DOMAIN,
    admission: allowlistNodeAdmission(miners),
    logger,
    readmitEveryMs: 0,
  });
  const scheduler = new Scheduler();
  const uptime = new UptimeTracker();
  const dispatcher = new Dispatcher({
    hub,
    scheduler,
    catalog,
    logger,
    uptime,
    maxQueueMs: options.maxQueueMs ?? 2_000,
    suspension: { baseMs: options.suspendMs ?? 60_000 },
    ...(options.acceptTimeoutMs === undefined ? {} : { acceptTimeoutMs: options.acceptTimeoutMs }),
  });
  const nodes = new NodeDirectory({
    hub,
    scheduler,
    uptime,
    catalog,
    paces: (node) => dispatcher.pacesOf(node),
  });
  // As the router's, for GET /pods and the metrics; not started: tests that scale tick one of their own.
  const autoscaler = new Autoscaler({
    hub,
    scheduler,
    catalog,
    demand: dispatcher,
    busyShare: AUTOSCALER_DEFAULTS.busyShare,
    logger,
  });
  const gateway = await buildGateway(
    routerGatewayDeps({
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
      domain: TEST_DOMAIN,
      responseRetentionMs: options.responseRetentionMs,
    }),
    { defaultMetrics: false, ...options.gateway },
  );
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const address = gateway.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/v1/miners`;
  const peers: MinerPeer[] = [];
  const spec = specs[0] as PodSpec;
  const id = podId(spec);

  const nodesAvailable = async (count: number) => {
    while (scheduler.stats().available !== count) await new Promise((r) => setTimeout(r, 5));
  };

  return {
    store,
    apiKeys,
    ledger,
    metering,
    jobs,
    hub,
    scheduler,
    dispatcher,
    catalog,
    gateway,
    url,
    wsUrl,
    spec,
    podId: id,
    balances,
    async key(account, balance = 10n ** 18n) {
      balances.set(getAddress(account), balance);
      return (await apiKeys.create({ account })).key;
    },
    async peer(index, serve) {
      const before = scheduler.stats().available;
      const peer = await MinerPeer.join(
        { url: wsUrl, account: minerAccount(index), domain: TEST_DOMAIN },
        testCapabilities({ warmPods: specs.map((s) => podId(s)), slots: { total: 4, free: 4 } }),
      );
      peer.startHeartbeats(1_000);
      peers.push(peer);
      if (serve !== undefined) peer.serve((assign) => serve(peer, assign));
      await nodesAvailable(before + 1);
      return peer;
    },
    nodesAvailable,
    async operationsUrl() {
      const { operations } = gateway;
      if (operations === undefined) throw new Error('the gateway has no operators’ listener');
      if (!operations.server.listening) await operations.listen({ host: '127.0.0.1', port: 0 });
      const bound = operations.server.address();
      return `http://127.0.0.1:${typeof bound === 'object' && bound !== null ? bound.port : 0}`;
    },
    async close() {
      for (const peer of peers) peer.terminate();
      await gateway.drain();
      await hub.close({ graceMs: 0 });
      dispatcher.close();
      autoscaler.stop();
      await gateway.operations?.close();
      await gateway.app.close();
      await opened.close();
      await store.close();
    },
  };
}

/** Serves a text answer as a llama-cpp miner does: accepted, streamed in pieces when asked, then signed. */
export async function answerText(
  peer: MinerPeer,
  assign: JobAssign,
  pieces: readonly string[],
  usage = { inputTokens: 7, outputTokens: pieces.length },
): Promise<void> {
  peer.accept(assign);
  if (assign.stream) {
    for (const [seq, piece] of pieces.entries()) peer.chunk(assign, seq, piece);
  }
  const text = pieces.join('');
  const output =
    assign.kind === 'completion'
      ? { choices: [{ text, finishReason: 'stop' }] }
      : { text, finishReason: 'stop' };
  // Metered as a pod that took a millisecond: a fixed price for the tests' sums, and never more time than
  // the router saw the attempt take (it refuses that).
  await peer.result(assign, output, { usage, gpuMs: 1 });
}

/** Calls as a node streams them: each named in its first piece, its arguments in two more. */
export function callPieces(calls: readonly ToolCallOut[]): ToolCallDelta[] {
  return calls.flatMap(({ id, name, arguments: args }, index) => {
    const half = Math.ceil(args.length / 2);
    return [
      { index, id, name, arguments: '' },
      { index, arguments: args.slice(0, half) },
      { index, arguments: args.slice(half) },
    ];
  });
}

/**
 * Serves a chat turn that says `text` and makes `calls`, as a llama-cpp miner does: when streamed, the
 * text, then the calls' `pieces` (all of each by default), then the signed output.
 */
export async function answerCalls(
  peer: MinerPeer,
  assign: JobAssign,
  text: string,
  calls: readonly ToolCallOut[],
  pieces: readonly ToolCallDelta[] = callPieces(calls),
): Promise<void> {
  peer.accept(assign);
  if (assign.stream) {
    if (text !== '') peer.chunk(assign, 0, text);
    const first = text === '' ? 0 : 1;
    for (const [at, toolCall] of pieces.entries()) peer.chunk(assign, first + at, '', { toolCall });
  }
  const output = { text, finishReason: 'tool_calls', toolCalls: calls };
  await peer.result(assign, output, { usage: { inputTokens: 9, outputTokens: 12 }, gpuMs: 1 });
}

/** A miner's behaviour that holds the job it is given until `release()`, then answers `pieces`. */
export function heldAnswer(pieces: string[]): {
  serve: (peer: MinerPeer, assign: JobAssign) => Promise<void>;
  /** Resolves once the job reached the node. */
  onNode: Promise<void>;
  release: () => void;
} {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let assigned = () => {};
  const onNode = new Promise<void>((resolve) => {
    assigned = resolve;
  });
  const serve = async (peer: MinerPeer, assign: JobAssign) => {
    assigned();
    await gate;
    await answerText(peer, assign, pieces);
  };
  return { serve, onNode, release };
}
