// Prometheus metrics of one gateway, on its own registry (several gateways can live in one process, as in
// tests). Gauges about other parts (nodes, settlement) are read when scraped, never pushed.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { copiedCounter } from './copied-counter.ts';
import { registerMinerMetrics } from './miner-metrics.ts';
import {
  type AutoscalerStats,
  type MeteringBacklog,
  type MinerEndpointStats,
  NODE_STATES,
  type NodeState,
  type SettlementStats,
} from './ports.ts';

export interface MetricsSources {
  connectedNodes(): number;
  /** Connected nodes ranked below the efficiency they announce (their pace belies it, or not timed yet). */
  nodesRankedBelowClaim?: () => number;
  /** The state of each connected node (GET /nodes). */
  nodeStates?: () => Iterable<NodeState>;
  miners?: () => MinerEndpointStats;
  settlement?: () => Promise<SettlementStats>;
  metering?: () => MeteringBacklog;
  autoscaler?: AutoscalerStats;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly latency: Histogram<'route' | 'method'>;
  readonly inFlight: Gauge;
  readonly queueDepth: Gauge;
  readonly attempts: Counter<'outcome'>;
  readonly jobs: Counter<'kind' | 'outcome'>;
  readonly promptTokens: Counter<'cached'>;

  constructor(sources: MetricsSources, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'neurino_' });
    this.requests = new Counter({
      name: 'neurino_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'neurino_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (a stream counts until its last byte)',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'neurino_jobs_in_flight',
      help: 'Jobs accepted and not finished yet',
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'neurino_jobs_queued',
      help: 'Jobs waiting for their first node (queue depth)',
      registers,
    });
    this.attempts = new Counter({
      name: 'neurino_job_attempts_total',
      help: 'Attempts sent to nodes, by outcome (succeeded, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.jobs = new Counter({
      name: 'neurino_jobs_total',
      help: 'Jobs finished, by kind and outcome (succeeded, an error code, or <code>_charged: stopped, the work done paid)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.promptTokens = new Counter({
      name: 'neurino_prompt_tokens_total',
      help: "Prompt tokens of answered chat and completion jobs, by whether a node's prompt cache held them (cached=yes) or they were evaluated (cached=no)",
      labelNames: ['cached'],
      registers,
    });
    new Gauge({
      name: 'neurino_connected_nodes',
      help: 'Miner nodes admitted and connected now',
      registers,
      collect() {
        this.set(sources.connectedNodes());
      },
    });
    const nodeStates = sources.nodeStates;
    if (nodeStates !== undefined) {
      new Gauge({
        name: 'neurino_nodes',
        help: 'Connected nodes by state: ready, waiting (for their capabilities), draining, suspended (after a fault), paused (rate limited)',
        labelNames: ['state'],
        registers,
        collect() {
          const counts = new Map<NodeState, number>(NODE_STATES.map((state) => [state, 0]));
          for (const state of nodeStates()) counts.set(state, (counts.get(state) ?? 0) + 1);
          for (const [state, count] of counts) this.set({ state }, count);
        },
      });
    }
    const rankedBelow = sources.nodesRankedBelowClaim;
    if (rankedBelow !== undefined) {
      new Gauge({
        name: 'neurino_nodes_ranked_below_claim',
        help: 'Connected nodes ranked by a lower efficiency than they announce: their pace implies less, or they were not timed yet and announce more than any timed node',
        registers,
        collect() {
          this.set(rankedBelow());
        },
      });
    }
    if (sources.miners !== undefined) registerMinerMetrics(registers, sources.miners);
    const metering = sources.metering;
    if (metering !== undefined) {
      new Gauge({
        name: 'neurino_metering_unstored_entries',
        help: 'Charges and job ends durable in the journal, not yet in the store',
        registers,
        collect() {
          this.set(metering().unstored);
        },
      });
      new Gauge({
        name: 'neurino_metering_store_retrying',
        help: '1 while metering writes fail (the store, or the router key attesting receipts) and ingestion waits to retry',
        registers,
        collect() {
          this.set(metering().storeRetrying ? 1 : 0);
        },
      });
      copiedCounter(
        registers,
        'neurino_metering_rejected_entries_total',
        'Metering entries the store refused for their data (kept in rejected.jsonl)',
        () => metering().rejected,
      );
    }
    if (sources.autoscaler !== undefined) registerAutoscalerMetrics(registers, sources.autoscaler);
    const settlement = sources.settlement;
    if (settlement === undefined) return;
    // One store query per scrape, shared by the settlement metrics collected in it.
    let pending: Promise<SettlementStats> | undefined;
    const stats = () => {
      pending ??= settlement().finally(() => {
        setImmediate(() => {
          pending = undefined;
        });
      });
      return pending;
    };
    new Gauge({
      name: 'neurino_settlement_lag_seconds',
      help: 'Age of the oldest charged receipt not yet settled on-chain (0 when none)',
      registers,
      async collect() {
        this.set((await stats()).settlementLagMs / 1000);
      },
    });
    new Gauge({
      name: 'neurino_settlement_unsettled_receipts',
      help: 'Receipts charged and not yet settled on-chain',
      registers,
      async collect() {
        this.set((await stats()).unsettledReceipts);
      },
    });
    new Gauge({
      name: 'neurino_settlement_set_aside_receipts',
      help: "Unsettled receipts waiting because their payers' credits were short on-chain",
      registers,
      async collect() {
        this.set((await stats()).setAsideReceipts);
      },
    });
    // Totals kept in the store: counters whose value is copied in at scrape time.
    copiedCounter(
      registers,
      'neurino_settlement_batches_total',
      'Batches this router settled on-chain',
      async () => (await stats()).batchesSettled,
    );
    copiedCounter(
      registers,
      'neurino_settlement_receipts_total',
      'Receipts this router settled on-chain',
      async () => (await stats()).receiptsSettled,
    );
  }
}

function registerAutoscalerMetrics(registers: Registry[], stats: AutoscalerStats): void {
  new Counter({
    name: 'neurino_autoscaler_requests_total',
    help: 'Pod loads and unloads the autoscaler asked nodes for (action: load, unload)',
    labelNames: ['action'],
    registers,
    collect() {
      const requests = stats.requests();
      this.reset();
      this.inc({ action: 'load' }, requests.load);
      this.inc({ action: 'unload' }, requests.unload);
    },
  });
  new Gauge({
    name: 'neurino_pod_warm_nodes',
    help: "Connected nodes holding the model's pod warm, draining ones not counted (bound: current; target, the autoscaler's aim from the pod's jobs; min and max, the pod spec's autoscale bounds)",
    labelNames: ['model', 'bound'],
    registers,
    collect() {
      this.reset();
      for (const pod of stats.pods()) {
        this.set({ model: pod.model, bound: 'current' }, pod.warmNodes);
        this.set({ model: pod.model, bound: 'target' }, pod.targetNodes);
        this.set({ model: pod.model, bound: 'min' }, pod.autoscale.min);
        this.set({ model: pod.model, bound: 'max' }, pod.autoscale.max);
      }
    },
  });
  new Gauge({
    name: 'neurino_pod_jobs',
    help: "The model's jobs now (state: running on nodes, queued for a free slot): what the autoscaler sizes it by",
    labelNames: ['model', 'state'],
    registers,
    collect() {
      this.reset();
      for (const pod of stats.pods()) {
        this.set({ model: pod.model, state: 'running' }, pod.jobs.running);
        this.set({ model: pod.model, state: 'queued' }, pod.jobs.queued);
      }
    },
  });
}
