// A node's Prometheus metrics, for its operator: the jobs it ran by pod, kind and outcome, their time and
// tokens, and, read from the miner when scraped, its connection to the router, slots and warm pods.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptOutcome } from './job-desk.ts';
import type { MinerState } from './miner.ts';

/** Job times from a millisecond (a trivial pod) to minutes (a long generation). */
const JOB_SECONDS_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180];

export class NodeMetrics {
  readonly registry = new Registry();
  #state: (() => MinerState) | undefined;
  readonly #jobs: Counter<'pod' | 'kind' | 'outcome'>;
  readonly #seconds: Histogram<'pod' | 'kind'>;
  readonly #tokens: Counter<'pod' | 'direction'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'neurino_node_' });
    this.#jobs = new Counter({
      name: 'neurino_node_jobs_total',
      help: "Attempts the node ran, by pod, kind and outcome ('succeeded', or the error code)",
      labelNames: ['pod', 'kind', 'outcome'],
      registers,
    });
    this.#seconds = new Histogram({
      name: 'neurino_node_job_seconds',
      help: 'Time of the attempts that succeeded, from the assignment to the signed result',
      labelNames: ['pod', 'kind'],
      buckets: JOB_SECONDS_BUCKETS,
      registers,
    });
    this.#tokens = new Counter({
      name: 'neurino_node_tokens_total',
      help: 'Tokens of the attempts answered, as their receipts count them (input, output)',
      labelNames: ['pod', 'direction'],
      registers,
    });
    const state = () => this.state();
    new Gauge({
      name: 'neurino_node_connected',
      help: 'Whether the router admitted the node and the session is open (1) or not (0)',
      registers,
      collect() {
        const status = state()?.status;
        this.set(status === 'connected' || status === 'draining' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'neurino_node_sessions',
      help: 'Sessions the router admitted since the node started (more than one: it reconnected)',
      registers,
      collect() {
        this.set(state()?.connections ?? 0);
      },
    });
    new Gauge({
      name: 'neurino_node_slots',
      help: 'Job slots, by state (busy, free)',
      labelNames: ['state'],
      registers,
      collect() {
        const slots = state()?.slots ?? { total: 0, free: 0 };
        this.set({ state: 'free' }, slots.free);
        this.set({ state: 'busy' }, slots.total - slots.free);
      },
    });
    new Gauge({
      name: 'neurino_node_warm_pods',
      help: 'Pods loaded and ready to run without a cold start',
      registers,
      collect() {
        this.set(state()?.warmPods.length ?? 0);
      },
    });
    new Gauge({
      name: 'neurino_node_pod_memory_mib',
      help: "MiB of the node's in-process pods (llama.cpp): held now, and the budget they share",
      labelNames: ['state'],
      registers,
      collect() {
        const memory = state()?.podMemory;
        if (memory === undefined) return;
        this.set({ state: 'held' }, memory.heldMiB);
        this.set({ state: 'budget' }, memory.budgetMiB);
      },
    });
    new Gauge({
      name: 'neurino_node_efficiency_gflops',
      help: "The node's self-benchmark, as it announces it to the router",
      registers,
      collect() {
        this.set(state()?.efficiency ?? 0);
      },
    });
  }

  /** The miner whose state the gauges read when scraped. */
  watch(state: () => MinerState): void {
    this.#state = state;
  }

  /** The watched miner's state now (undefined before `watch`). */
  state(): MinerState | undefined {
    return this.#state?.();
  }

  attemptEnded(outcome: AttemptOutcome): void {
    const { pod, kind } = outcome;
    this.#jobs.inc({ pod, kind, outcome: outcome.ok ? 'succeeded' : (outcome.code ?? 'failed') });
    if (outcome.ok) this.#seconds.observe({ pod, kind }, outcome.seconds);
    if (outcome.usage !== undefined) {
      this.#tokens.inc({ pod, direction: 'input' }, outcome.usage.inputTokens);
      this.#tokens.inc({ pod, direction: 'output' }, outcome.usage.outputTokens);
    }
  }
}
