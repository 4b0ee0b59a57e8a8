// What the autoscaler asks of the nodes for one pod, from how the network holds it now. Jobs scale a pod
// up by themselves (a job no warm node is free for goes to a capable cold node, which loads the pod, until
// autoscale.max nodes hold it: the scheduler's cap), so the plan keeps the spec's other bounds: at least
// `autoscale.min` nodes warm even with no demand (loaded ahead where memory is free, so a first request
// pays no cold start), no more than `autoscale.max` once the extra ones are idle, and none idle longer
// than the router's scale-down time beyond the minimum: with `min` 0 an unused pod goes back to zero.
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

export interface PodScaleInput {
  readonly podId: Hex;
  readonly min: number;
  readonly max: number;
  readonly replicas: readonly Replica[];
  /** Idle this long, a warm node beyond `min` unloads the pod; undefined: never for idleness. */
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

export function planPodScale(input: PodScaleInput): ScaleAction[] {
  const { podId, min, max, scaleDownIdleMs } = input;
  const warm = input.replicas.filter((r) => r.warm && !r.unloading);
  const loading = input.replicas.filter((r) => r.loading && !r.warm);
  const actions: ScaleAction[] = [];

  const missing = Math.min(max, min) - warm.length - loading.length;
  if (missing > 0) {
    // Only where it fits beside what is loaded: keeping one pod warm must not unload another (two pods
    // each kept warm on one node would unload each other in turn). The most efficient first.
    const candidates = input.replicas
      .filter((r) => !r.warm && !r.loading && r.loadable && r.hasRoom)
      .sort((a, b) => b.efficiency - a.efficiency);
    for (const replica of candidates.slice(0, missing)) {
      actions.push({ kind: 'load', node: replica.node, podId, reason: `autoscale.min is ${min}` });
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
    const beyondMin = warm.length - overMax.length - min;
    const idle = idleFirst.filter((r) => !overMax.includes(r) && r.idleMs >= scaleDownIdleMs);
    for (const replica of idle.slice(0, Math.max(0, beyondMin))) {
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
