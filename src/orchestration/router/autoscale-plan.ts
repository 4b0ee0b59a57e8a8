// What the autoscaler asks of the nodes for one pod, from how the network holds it now and the pod's jobs.
// The target of warm nodes is the spec's `autoscale.min`, or more when the pod's jobs (running and waiting)
// would fill more than a share of the warm nodes' slots (so the next burst finds a node already loaded
// rather than loading the model inside a caller's request), never above `autoscale.max`. Below it the
// pod is loaded ahead where memory is free; beyond it, nodes idle past the router's scale-down time unload
// it, the longest idle first (with `min` 0 and no jobs an unused pod goes back to zero), and nodes beyond
// `autoscale.max` (jobs load the pod on cold nodes themselves when no warm one is free, up to the
// scheduler's cap) unload it once idle a while.
import type { Address, Hex } from 'viem';

/** One connected node as the plan sees it for the pod. */
export interface Replica {
  readonly node: Address;
  readonly warm: boolean;
  /** May be asked to load it: hosts it, fits it, neither draining nor suspended, nor refused it lately. */
  readonly loadable: boolean;
  /** Its announced memory leaves room for the pod: loading it there unloads nothing. */
  readonly hasRoom: boolean;
  readonly efficiency: number;
  /** Since the pod's last job here, or since the router saw it warm (ms). */
  readonly idleMs: number;
  /** Asked to load it, no answer yet. */
  readonly loading: boolean;
  /** Asked to unload it, no answer yet. */
  readonly unloading: boolean;
}

/** The pod's jobs, and how busy its warm nodes may get before one more is loaded. */
export interface DemandInput {
  /** Running on nodes and waiting for a slot, at once on average over the autoscaler's last interval. */
  readonly jobs: number;
  /**
   * Slots a warm node (a capable one when none is warm) has for the pod's jobs, on average: free, or
   * held by the pod's own jobs.
   */
  readonly slotsPerNode: number;
  /** The share of the warm nodes' slots the jobs may fill (0 < share ≤ 1). */
  readonly busyShare: number;
}

export interface WarmTarget {
  readonly count: number;
  readonly reason: string;
}

export interface PodScaleInput {
  readonly podId: Hex;
  /** The spec's `autoscale.max`. */
  readonly max: number;
  /** How many nodes should hold it warm (`warmTarget`). */
  readonly target: WarmTarget;
  readonly replicas: readonly Replica[];
  /** Idle this long, a warm node beyond the target unloads the pod; undefined: never for idleness. */
  readonly scaleDownIdleMs: number | undefined;
}

export interface ScaleAction {
  readonly kind: 'load' | 'unload';
  readonly node: Address;
  readonly podId: Hex;
  readonly reason: string;
}

/** A node beyond a pod's autoscale.max unloads it once idle this long. */
export const OVER_MAX_IDLE_MS = 30_000;

/** How many nodes should hold the pod warm: `min`, or what its jobs need, at most `max`. */
export function warmTarget(
  bounds: { min: number; max: number },
  demand: DemandInput | undefined,
): WarmTarget {
  const { min, max } = bounds;
  const needed =
    demand === undefined || demand.jobs <= 0
      ? 0
      : Math.ceil(demand.jobs / (Math.max(1, demand.slotsPerNode) * demand.busyShare));
  if (needed <= min) return { count: Math.min(min, max), reason: `autoscale.min is ${min}` };
  const share = Math.round((demand?.busyShare ?? 1) * 100);
  const jobs = Math.round((demand?.jobs ?? 0) * 10) / 10;
  return {
    count: Math.min(needed, max),
    reason: `${jobs} ${jobs === 1 ? 'job' : 'jobs'} at once would keep more than ${share} % of the warm nodes' slots busy`,
  };
}

export function planPodScale(input: PodScaleInput): ScaleAction[] {
  const { podId, max, target, scaleDownIdleMs } = input;
  const warm = input.replicas.filter((r) => r.warm && !r.unloading);
  const loading = input.replicas.filter((r) => r.loading && !r.warm);
  const actions: ScaleAction[] = [];

  const missing = target.count - warm.length - loading.length;
  if (missing > 0) {
    // Only where it fits beside what is loaded: keeping one pod warm must not unload another (two pods
    // each kept warm on one node would unload each other in turn). The most efficient first.
    const candidates = input.replicas
      .filter((r) => !r.warm && !r.loading && r.loadable && r.hasRoom)
      .sort((a, b) => b.efficiency - a.efficiency);
    for (const replica of candidates.slice(0, missing)) {
      actions.push({ kind: 'load', node: replica.node, podId, reason: target.reason });
    }
  }

  // The longest idle go first; jobs keep the rest. Beyond max, only nodes idle a while: jobs that found
  // every warm node busy loaded the extra ones, and unloading a node still in use would only move the
  // load around.
  const idleFirst = [...warm].sort((a, b) => b.idleMs - a.idleMs);
  const overMax = idleFirst
    .filter((r) => r.idleMs >= OVER_MAX_IDLE_MS)
    .slice(0, Math.max(0, warm.length - max));
  for (const replica of overMax) {
    actions.push({ kind: 'unload', node: replica.node, podId, reason: `autoscale.max is ${max}` });
  }
  if (scaleDownIdleMs !== undefined) {
    // Not below the target: a node the jobs' headroom keeps warm may well be the idle one.
    const beyondTarget = warm.length - overMax.length - target.count;
    const idle = idleFirst.filter((r) => !overMax.includes(r) && r.idleMs >= scaleDownIdleMs);
    for (const replica of idle.slice(0, Math.max(0, beyondTarget))) {
      actions.push({
        kind: 'unload',
        node: replica.node,
        podId,
        reason: `idle ${Math.round(replica.idleMs / 1000)} s`,
      });
    }
  }
  return actions;
}
