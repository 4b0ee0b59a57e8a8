// The router's autoscaler: every few seconds, per pod it serves, it compares how many connected nodes hold
// the pod warm with the pod's bounds (autoscale-plan.ts) and asks nodes to load or unload it (`pod.load`,
// `pod.unload`). A request sent is remembered until the node answers (or a timeout), so it is not sent
// twice; a node that refused a load is not asked again for a while.
import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import type { PodSpec } from '../../protocol/pod-spec.ts';
import { planPodScale, type Replica, type ScaleAction } from './autoscale-plan.ts';
import type { MinerHub } from './miner-hub.ts';
import type { MinerSession } from './miner-session.ts';
import { canLoad, hasRoom, misfit } from './node-fit.ts';
import type { PodCatalog } from './pod-catalog.ts';
import type { Scheduler } from './scheduler.ts';

export interface AutoscalerOptions {
  readonly hub: Pick<MinerHub, 'sessions' | 'subscribe'>;
  readonly scheduler: Pick<Scheduler, 'isSuspended' | 'rankedEfficiency'>;
  readonly catalog: Pick<PodCatalog, 'list'>;
  readonly logger: Logger;
  /** A warm node beyond the pod's minimum unloads it after this long without its jobs; undefined: never. */
  readonly scaleDownIdleMs?: number | undefined;
  /** How often it looks (default 5 s). */
  readonly intervalMs?: number;
  /** A load or unload not answered in this long is forgotten, and may be asked again (default 10 min). */
  readonly answerTimeoutMs?: number;
  /** A node that refused to load a pod is not asked to again for this long (default 5 min). */
  readonly refusalBackoffMs?: number;
  readonly now?: () => number;
}

export const AUTOSCALER_DEFAULTS = {
  intervalMs: 5_000,
  answerTimeoutMs: 600_000,
  refusalBackoffMs: 300_000,
  scaleDownIdleMs: 300_000,
} as const;

/**
 * Runtimes whose model a server of the operator's holds (vLLM, Ollama...): unloading the pod frees no
 * memory, so it is not unloaded for being idle.
 */
const MEMORY_HELD_ELSEWHERE: ReadonlySet<string> = new Set(['openai-upstream']);

type Key = `${Address}:${Hex}`;
const keyOf = (node: Address, podId: Hex): Key => `${node}:${podId}`;

export class Autoscaler {
  readonly #options: AutoscalerOptions;
  readonly #now: () => number;
  /** When the router first saw each node holding each pod warm (the idle time of a pod never used there). */
  readonly #warmSince = new Map<Key, number>();
  readonly #loading = new Map<Key, number>();
  readonly #unloading = new Map<Key, number>();
  readonly #refused = new Map<Key, number>();
  readonly #unsubscribe: () => void;
  #timer: NodeJS.Timeout | undefined;
  #requests = { load: 0, unload: 0 };

  constructor(options: AutoscalerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#unsubscribe = options.hub.subscribe((session, change) => {
      switch (change.kind) {
        case 'pod.loaded':
          this.#loading.delete(keyOf(session.node, change.podId));
          break;
        case 'pod.unloaded':
          this.#unloading.delete(keyOf(session.node, change.podId));
          break;
        case 'pod.failed': {
          const key = keyOf(session.node, change.podId);
          // A refused unload leaves the pod as it was; a refused load is not asked again for a while.
          if (this.#loading.delete(key)) this.#refused.set(key, this.#now());
          this.#unloading.delete(key);
          break;
        }
        case 'closed':
          this.#forget(session.node);
          break;
      }
    });
  }

  /** Loads and unloads asked for so far. */
  get requests(): { load: number; unload: number } {
    return { ...this.#requests };
  }

  /** Per pod of the catalog: connected nodes holding it warm (draining ones not counted), and its bounds. */
  pods(): Array<{ podId: Hex; name: string; warm: number; min: number; max: number }> {
    const sessions = this.#options.hub.sessions().filter((s) => !s.closed && !s.draining);
    return this.#options.catalog.list().map(({ podId, spec }) => ({
      podId,
      name: spec.name,
      warm: sessions.filter((s) => s.warmPods.has(podId)).length,
      min: spec.autoscale.min,
      max: spec.autoscale.max,
    }));
  }

  start(): void {
    this.#timer ??= setInterval(
      () => this.tick(),
      this.#options.intervalMs ?? AUTOSCALER_DEFAULTS.intervalMs,
    );
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe();
  }

  /**
   * Looks once: plans every pod of the catalog and sends what the plan asks; returns what was sent. Reads
   * each node's warm pods once, and every node for a pod only when the pod lacks warm nodes (below min),
   * so a look costs about the warm (node, pod) pairs, not nodes × pods.
   */
  tick(): ScaleAction[] {
    const now = this.#now();
    this.#expire(now);
    const sessions = this.#options.hub.sessions().filter((s) => !s.closed && s.capabilities !== undefined);
    // A draining node is leaving: its pods count for nothing, and it is asked nothing.
    const warmOn = new Map<Hex, MinerSession[]>();
    const warmKeys = new Set<Key>();
    for (const session of sessions) {
      if (session.draining) continue;
      for (const podId of session.warmPods) {
        const list = warmOn.get(podId);
        if (list === undefined) warmOn.set(podId, [session]);
        else list.push(session);
        warmKeys.add(keyOf(session.node, podId));
      }
    }
    // A pod warm again counts its idle time afresh.
    for (const key of this.#warmSince.keys()) if (!warmKeys.has(key)) this.#warmSince.delete(key);
    const sent: ScaleAction[] = [];
    for (const { podId, spec } of this.#options.catalog.list()) {
      const warm = warmOn.get(podId) ?? [];
      const candidates = warm.length < spec.autoscale.min ? sessions : warm;
      const plan = planPodScale({
        podId,
        min: spec.autoscale.min,
        max: spec.autoscale.max,
        replicas: candidates.map((session) => this.#replica(session, podId, spec, now)),
        scaleDownIdleMs: MEMORY_HELD_ELSEWHERE.has(spec.runtime) ? undefined : this.#options.scaleDownIdleMs,
      });
      for (const action of plan) {
        const session = candidates.find((s) => s.node === action.node);
        if (session !== undefined && this.#send(session, action, spec, now)) sent.push(action);
      }
    }
    return sent;
  }

  #replica(session: MinerSession, podId: Hex, spec: PodSpec, now: number): Replica {
    const key = keyOf(session.node, podId);
    const hardware = session.capabilities as NonNullable<MinerSession['capabilities']>;
    const warm = !session.draining && session.warmPods.has(podId);
    if (warm && !this.#warmSince.has(key)) this.#warmSince.set(key, now);
    const lastActive = Math.max(this.#warmSince.get(key) ?? now, session.podAssignedAt(podId) ?? 0);
    return {
      node: session.node,
      warm,
      loadable:
        !session.draining &&
        !this.#options.scheduler.isSuspended(session.node) &&
        !this.#refused.has(key) &&
        canLoad(hardware, spec, podId) &&
        misfit(hardware, spec) === undefined,
      hasRoom: hasRoom(hardware, podId, spec),
      efficiency: this.#options.scheduler.rankedEfficiency(session.node) ?? hardware.efficiency,
      idleMs: now - lastActive,
      loading: this.#loading.has(key),
      unloading: this.#unloading.has(key),
    };
  }

  #send(session: MinerSession, action: ScaleAction, spec: PodSpec, now: number): boolean {
    const key = keyOf(action.node, action.podId);
    const sent =
      action.kind === 'load' ? session.loadPod(action.podId, spec) : session.unloadPod(action.podId);
    if (!sent) return false;
    (action.kind === 'load' ? this.#loading : this.#unloading).set(key, now);
    this.#requests[action.kind]++;
    this.#options.logger.info(
      { node: action.node, podId: action.podId, reason: action.reason },
      `asked ${action.node} to ${action.kind} ${spec.name}: ${action.reason}`,
    );
    return true;
  }

  #expire(now: number): void {
    const answerTimeoutMs = this.#options.answerTimeoutMs ?? AUTOSCALER_DEFAULTS.answerTimeoutMs;
    const backoffMs = this.#options.refusalBackoffMs ?? AUTOSCALER_DEFAULTS.refusalBackoffMs;
    for (const [map, ms] of [
      [this.#loading, answerTimeoutMs],
      [this.#unloading, answerTimeoutMs],
      [this.#refused, backoffMs],
    ] as const) {
      for (const [key, at] of map) if (now - at >= ms) map.delete(key);
    }
  }

  #forget(node: Address): void {
    const prefix = `${node}:`;
    for (const map of [this.#warmSince, this.#loading, this.#unloading, this.#refused]) {
      for (const key of map.keys()) if (key.startsWith(prefix)) map.delete(key);
    }
  }
}
