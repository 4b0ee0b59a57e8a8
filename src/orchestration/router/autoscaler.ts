// The router's autoscaler: every few seconds, per pod it serves, it compares how many connected nodes hold
// the pod warm with a target from the pod's bounds and its jobs (autoscale-plan.ts) and asks nodes to load
// or unload it (`pod.load`, `pod.unload`). A request sent is remembered until the node answers (or a
// timeout), so it is not sent twice; a node that refused a load is not asked again for a while.
import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import type { PodSpec } from '../../protocol/pod-spec.ts';
import {
  type DemandInput,
  planPodScale,
  type Replica,
  type ScaleAction,
  warmTarget,
} from './autoscale-plan.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { MinerHub } from './miner-hub.ts';
import type { MinerSession } from './miner-session.ts';
import { canLoad, hasRoom, misfit } from './node-fit.ts';
import type { PodCatalog } from './pod-catalog.ts';
import type { PodLoad } from './pod-demand.ts';
import type { Scheduler } from './scheduler.ts';

export interface AutoscalerOptions {
  readonly hub: Pick<MinerHub, 'sessions' | 'subscribe'>;
  readonly scheduler: Pick<Scheduler, 'isSuspended' | 'rankedEfficiency'>;
  readonly catalog: Pick<PodCatalog, 'list'>;
  /** The pods' jobs; without it (or `busyShare`), a pod's target is its `autoscale.min`. */
  readonly demand?: Pick<Dispatcher, 'demand'> | undefined;
  /**
   * One more node loads a pod once its jobs would fill more than this share of its warm nodes' slots
   * (0 < share ≤ 1; undefined: only `autoscale.min` is kept ahead).
   */
  readonly busyShare?: number | undefined;
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

/** A pod of the catalog as the autoscaler sees it. */
export interface PodScale {
  readonly podId: Hex;
  /** The spec's name, then its aliases: what clients ask for as `model`. */
  readonly name: string;
  readonly models: readonly string[];
  readonly runtime: PodSpec['runtime'];
  /** Connected nodes holding it warm, draining ones not counted. */
  readonly warm: number;
  readonly target: number;
  readonly min: number;
  readonly max: number;
  /** Its jobs running on nodes and waiting for a slot now (0 without a demand source). */
  readonly running: number;
  readonly queued: number;
}

export const AUTOSCALER_DEFAULTS = {
  intervalMs: 5_000,
  answerTimeoutMs: 600_000,
  refusalBackoffMs: 300_000,
  scaleDownIdleMs: 300_000,
  busyShare: 0.7,
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
  /** Each pod's target of warm nodes at the last look. */
  readonly #targets = new Map<Hex, number>();
  /** Each pod's demand as read at the last look: the next look averages its jobs since. */
  readonly #lastLoad = new Map<Hex, PodLoad>();
  readonly #unsubscribe: () => void;
  #timer: NodeJS.Timeout | undefined;
  #requests = { load: 0, unload: 0 };

  constructor(options: AutoscalerOptions) {
    const { busyShare } = options;
    if (busyShare !== undefined && !(busyShare > 0 && busyShare <= 1)) {
      throw new RangeError(`busyShare must be above 0 and at most 1, not ${busyShare}`);
    }
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

  /**
   * Per pod of the catalog: connected nodes holding it warm (draining ones not counted), its target at the
   * last look (`min` before the first), its bounds, and its jobs now (running, waiting for a slot).
   */
  pods(): PodScale[] {
    const warmOn = this.#warmOn(this.#options.hub.sessions().filter((s) => !s.closed));
    return this.#options.catalog.list().map(({ podId, spec, models }) => {
      const load = this.#options.demand?.demand(podId);
      return {
        podId,
        name: spec.name,
        models,
        runtime: spec.runtime,
        warm: warmOn.get(podId)?.length ?? 0,
        target: this.#targets.get(podId) ?? Math.min(spec.autoscale.min, spec.autoscale.max),
        min: spec.autoscale.min,
        max: spec.autoscale.max,
        running: load?.running ?? 0,
        queued: load?.queued ?? 0,
      };
    });
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
   * each node's warm pods once, and every node for a pod only when the pod lacks warm nodes (below its
   * target), so a look costs about the warm (node, pod) pairs, not nodes × pods.
   */
  tick(): ScaleAction[] {
    const now = this.#now();
    this.#expire(now);
    const sessions = this.#options.hub.sessions().filter((s) => !s.closed && s.capabilities !== undefined);
    const warmOn = this.#warmOn(sessions);
    const warmKeys = new Set<Key>();
    for (const [podId, holders] of warmOn) for (const s of holders) warmKeys.add(keyOf(s.node, podId));
    // A pod warm again counts its idle time afresh.
    for (const key of this.#warmSince.keys()) if (!warmKeys.has(key)) this.#warmSince.delete(key);
    const sent: ScaleAction[] = [];
    const catalog = this.#options.catalog.list();
    const served = new Set(catalog.map((entry) => entry.podId));
    for (const map of [this.#targets, this.#lastLoad]) {
      for (const podId of map.keys()) if (!served.has(podId)) map.delete(podId);
    }
    for (const { podId, spec } of catalog) {
      const warm = warmOn.get(podId) ?? [];
      const demand = this.#demand(podId, spec, warm, sessions);
      const target = warmTarget(spec.autoscale, demand);
      this.#targets.set(podId, target.count);
      const candidates = warm.length < target.count ? sessions : warm;
      const plan = planPodScale({
        podId,
        max: spec.autoscale.max,
        target,
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

  /**
   * The sessions holding each pod warm, in one pass over the warm (node, pod) pairs. A draining node is
   * leaving: its pods count for nothing, and it is asked nothing.
   */
  #warmOn(sessions: readonly MinerSession[]): Map<Hex, MinerSession[]> {
    const warmOn = new Map<Hex, MinerSession[]>();
    for (const session of sessions) {
      if (session.draining) continue;
      for (const podId of session.warmPods) {
        const list = warmOn.get(podId);
        if (list === undefined) warmOn.set(podId, [session]);
        else list.push(session);
      }
    }
    return warmOn;
  }

  /**
   * The pod's jobs against the slots the nodes that hold it (those that could, when none does) have for
   * them.
   */
  #demand(
    podId: Hex,
    spec: PodSpec,
    warm: readonly MinerSession[],
    sessions: readonly MinerSession[],
  ): DemandInput | undefined {
    const { busyShare } = this.#options;
    const load = this.#options.demand?.demand(podId);
    if (busyShare === undefined || load === undefined) return undefined;
    const last = this.#lastLoad.get(podId);
    this.#lastLoad.set(podId, load);
    // On average since the last look; at the first, as it is now.
    const jobs =
      last === undefined || load.at <= last.at
        ? load.running + load.queued
        : (load.jobMs - last.jobMs) / (load.at - last.at);
    if (!(jobs > 0)) return undefined;
    const nodes =
      warm.length > 0
        ? warm
        : sessions.filter(
            (s) => !s.draining && s.capabilities !== undefined && canLoad(s.capabilities, spec, podId),
          );
    // A node's slots busy with other pods' jobs are no room for this one's.
    const slots = nodes.reduce((sum, s) => sum + s.slotsFor(podId), 0);
    return { jobs, slotsPerNode: nodes.length === 0 ? 1 : slots / nodes.length, busyShare };
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
      // A job that outlasts the scale-down time keeps its node busy, however long ago it was assigned.
      idleMs: session.runsPod(podId) ? 0 : now - lastActive,
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
