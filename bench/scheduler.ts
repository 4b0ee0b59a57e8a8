// A routing decision among 10,000 connected nodes: the scheduler's per-pod heaps vs a linear scan over
// every node (eligibility precomputed, so the baseline only scans and compares), side by side in one run.
// Target (DESIGN.md): a pick under 50 µs.
import { performance } from 'node:perf_hooks';
import { type Address, getAddress, type Hex } from 'viem';
import type { NodeHardware } from '../src/orchestration/router/node-fit.ts';
import { misfit } from '../src/orchestration/router/node-fit.ts';
import { efficiencyBand, type NodeRank, ranksBefore } from '../src/orchestration/router/node-rank.ts';
import { Scheduler } from '../src/orchestration/router/scheduler.ts';
import { mulberry32 } from '../src/protocol/mulberry32.ts';
import { type PodSpec, podId } from '../src/protocol/pod-spec.ts';
import { samplePodSpec } from '../src/protocol/testing/samples.ts';

export interface SchedulerBenchOptions {
  nodes?: number;
  pods?: number;
  picks?: number;
  /** Share of nodes with no free slot (a busy network makes scans skip more). */
  busyShare?: number;
}

export interface SchedulerBenchResult {
  nodes: number;
  pods: number;
  /** Mean time of one pick with the scheduler's indexes. */
  indexedPickMicros: number;
  /** Mean time of one pick by scanning every node. */
  linearPickMicros: number;
  /** A whole routing cycle with indexes: pick, take the slot, give it back (heap updates included). */
  indexedCycleMicros: number;
  /** linear pick time / indexed pick time. */
  ratio: number;
}

interface LinearNode extends NodeRank {
  node: Address;
  fits: boolean[];
  warm: boolean[];
}

export function benchScheduler(options: SchedulerBenchOptions = {}): SchedulerBenchResult {
  const nodeCount = options.nodes ?? 10_000;
  const podCount = options.pods ?? 8;
  const picks = options.picks ?? 20_000;
  const busyShare = options.busyShare ?? 0.5;
  const next = mulberry32(7);
  const specs: PodSpec[] = Array.from({ length: podCount }, (_, i) =>
    samplePodSpec({ name: `pod-${i}`, minVramMiB: 1_024 * (1 + (i % 4)), software: {} }),
  );
  const pods = specs.map((spec) => ({ podId: podId(spec), spec }));
  const scheduler = new Scheduler();
  const linear: LinearNode[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const node = getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`);
    const hardware: NodeHardware = {
      gpus: [{ name: 'gpu', vramMiB: 1_024 * (1 + Math.floor(next() * 8)) }],
      ramMiB: 32_768,
      efficiency: 1 + next() * 1_000,
      runtimes: ['llama-cpp'],
    };
    const warmPods: Hex[] = pods.filter(() => next() < 0.25).map((p) => p.podId);
    const freeSlots = next() < busyShare ? 0 : 1 + Math.floor(next() * 4);
    const votes = BigInt(Math.floor(next() * 100));
    scheduler.upsertNode({ node, hardware, warmPods, freeSlots, draining: false });
    scheduler.setVotes(node, votes);
    linear.push({
      node,
      fits: specs.map((spec) => misfit(hardware, spec) === undefined),
      warm: pods.map((p) => warmPods.includes(p.podId)),
      efficiencyBand: efficiencyBand(hardware.efficiency),
      votes,
      uptimeBand: 0,
      freeSlots,
      joinOrder: i,
    });
  }
  for (const pod of pods) scheduler.pick(pod); // builds the indexes outside the timed loops

  const linearPick = (podIndex: number): Address | undefined => {
    let best: LinearNode | undefined;
    let bestWarm = false;
    for (const candidate of linear) {
      if (!candidate.fits[podIndex] || candidate.freeSlots === 0) continue;
      const warm = candidate.warm[podIndex] === true;
      if (best === undefined || (warm && !bestWarm) || (warm === bestWarm && ranksBefore(candidate, best))) {
        best = candidate;
        bestWarm = warm;
      }
    }
    return best?.node;
  };

  const time = (run: (i: number) => void) => {
    for (let i = 0; i < 1_000; i++) run(i); // warm up the JIT
    const started = performance.now();
    for (let i = 0; i < picks; i++) run(i);
    return ((performance.now() - started) * 1_000) / picks;
  };

  // Both sides must agree on the answer, or the comparison means nothing.
  for (let i = 0; i < podCount; i++) {
    if (scheduler.pick(pods[i] as (typeof pods)[number])?.node !== linearPick(i)) {
      throw new Error(`indexed and linear picks differ for pod ${i}`);
    }
  }
  let sink = 0;
  const indexedPickMicros = time((i) => {
    sink += scheduler.pick(pods[i % podCount] as (typeof pods)[number]) === undefined ? 0 : 1;
  });
  const linearPickMicros = time((i) => {
    sink += linearPick(i % podCount) === undefined ? 0 : 1;
  });
  const indexedCycleMicros = time((i) => {
    const picked = scheduler.pick(pods[i % podCount] as (typeof pods)[number]);
    if (picked === undefined) return;
    const entry = linear[Number.parseInt(picked.node.slice(2), 16) - 1] as LinearNode;
    scheduler.setFreeSlots(picked.node, entry.freeSlots - 1);
    scheduler.setFreeSlots(picked.node, entry.freeSlots);
  });
  if (sink < 0) throw new Error('unreachable');
  return {
    nodes: nodeCount,
    pods: podCount,
    indexedPickMicros,
    linearPickMicros,
    indexedCycleMicros,
    ratio: linearPickMicros / indexedPickMicros,
  };
}

export function printSchedulerBench(result: SchedulerBenchResult): void {
  const µs = (value: number) => `${value.toFixed(2)} µs`;
  console.log(`scheduler: a pick among ${result.nodes.toLocaleString('en')} nodes (${result.pods} pods)`);
  console.log(`  indexed pick          ${µs(result.indexedPickMicros)}   (target < 50 µs)`);
  console.log(`  linear scan baseline  ${µs(result.linearPickMicros)}`);
  console.log(`  indexed pick + take and free the slot  ${µs(result.indexedCycleMicros)}`);
  console.log(`  linear / indexed      ${result.ratio.toFixed(0)}×`);
}

if (import.meta.url === `file://${process.argv[1]}`) printSchedulerBench(benchScheduler());
