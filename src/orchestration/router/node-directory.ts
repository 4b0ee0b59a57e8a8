// The connected nodes as operators see them: GET /nodes and `neurino nodes` read this.
import type { Address, Hex } from 'viem';
import type { Capabilities } from '../../protocol/messages/node-state.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import type { MinerHub } from './miner-hub.ts';
import type { MinerSession } from './miner-session.ts';
import type { PaceReport } from './pace-check.ts';
import type { PodCatalog } from './pod-catalog.ts';
import type { Scheduler } from './scheduler.ts';
import type { UptimeTracker } from './uptime-tracker.ts';

/**
 * `ready` takes jobs; `waiting` has not announced its capabilities yet; `suspended` sits out a fault;
 * `paused` sits out being busy (rate limited), jobs waiting for it.
 */
export const NODE_STATES = ['ready', 'waiting', 'draining', 'suspended', 'paused'] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** One connected node as the router sees it (GET /nodes, `neurino nodes`); what is not known is null. */
export interface NodeStatus {
  node: Address;
  state: NodeState;
  sessionId: string;
  protocolVersion: number;
  software: { neurino: string; node: string };
  connectedAt: number;
  /** The node's clock at its last heartbeat, and when this router received it. */
  lastHeartbeat: { at: number; receivedAt: number; load: number } | null;
  hardware: Pick<Capabilities, 'gpus' | 'cpu' | 'ramMiB' | 'efficiency' | 'runtimes'> | null;
  /** Slots as announced, and the attempts this router runs on the node now. */
  slots: { total: number; running: number; free: number };
  /** Warm pods, with the model name this router serves each under (null when it serves none). */
  warmPods: Array<{ podId: Hex; model: string | null }>;
  /** Every pod the node can run, warm or cold, as it announced (null: it did not say). */
  hostedPods: Array<{ podId: Hex; model: string | null }> | null;
  /** MiB the node's in-process pods may hold at once, hold now, and each holds once loaded; null when not said. */
  podMemory: NonNullable<Capabilities['podMemory']> | null;
  /** 0..1 of the time since this router first saw the node (a first hour counts in full). */
  uptime: number;
  /** What `uptime` is made of: ms since this router first saw the node, and connected of them. */
  seenMs: number;
  connectedMs: number;
  /** Set while a failure (suspended) or a rate limit (paused) keeps the node out of the picks. */
  suspendedUntil: number | null;
  /**
   * The efficiency the node is ranked by when lower than it announces: the pace it serves at implies far
   * less (pace-check.ts), or the router has not timed it yet and no timed node lives up to as much
   * (efficiency-ranking.ts); null while its announced figure stands.
   */
  rankedEfficiency: number | null;
  /**
   * The paces at which this router timed the node's jobs, per pod (with its model name) and kind: work
   * per second (tokens written, tokens embedded, or generic jobs) and the jobs timed.
   */
  paces: Array<{ podId: Hex; model: string | null; kind: JobKind; perSecond: number; jobs: number }>;
}

export interface NodeDirectoryOptions {
  hub: MinerHub;
  scheduler: Scheduler;
  uptime: UptimeTracker;
  catalog: PodCatalog;
  /** The paces the dispatcher timed (Dispatcher.pacesOf); none listed without it. */
  paces?: (node: Address) => PaceReport[];
}

/**
 * The connected nodes for operators: the hub's sessions with the scheduler's suspensions and the uptime
 * the scheduler ranks by. Read on demand, off the jobs' path.
 */
export class NodeDirectory {
  readonly #options: NodeDirectoryOptions;

  constructor(options: NodeDirectoryOptions) {
    this.#options = options;
  }

  /** Every admitted node, by address. */
  nodes(): NodeStatus[] {
    return this.#options.hub
      .sessions()
      .map((session) => this.#status(session))
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  #status(session: MinerSession): NodeStatus {
    const { scheduler, uptime, catalog } = this.#options;
    const capabilities = session.capabilities;
    const suspendedUntil = scheduler.suspendedUntil(session.node);
    const heartbeat = session.lastHeartbeat;
    return {
      node: session.node,
      state: stateOf(session, suspendedUntil, scheduler.isPaused(session.node)),
      sessionId: session.id,
      protocolVersion: session.version,
      software: session.software,
      connectedAt: session.connectedAt,
      lastHeartbeat:
        heartbeat === undefined || session.lastHeartbeatAt === undefined
          ? null
          : { at: heartbeat.at, receivedAt: session.lastHeartbeatAt, load: heartbeat.load },
      hardware:
        capabilities === undefined
          ? null
          : {
              gpus: capabilities.gpus,
              cpu: capabilities.cpu,
              ramMiB: capabilities.ramMiB,
              efficiency: capabilities.efficiency,
              runtimes: capabilities.runtimes,
            },
      slots: {
        total: capabilities?.slots.total ?? 0,
        running: session.inFlight,
        free: session.freeSlots,
      },
      warmPods: [...session.warmPods].map((podId) => ({
        podId,
        model: catalog.byId(podId)?.spec.name ?? null,
      })),
      hostedPods:
        capabilities?.hostedPods?.map((podId) => ({
          podId,
          model: catalog.byId(podId)?.spec.name ?? null,
        })) ?? null,
      podMemory: capabilities?.podMemory ?? null,
      uptime: uptime.uptime(session.node),
      ...(uptime.history(session.node) ?? { seenMs: 0, connectedMs: 0 }),
      suspendedUntil: suspendedUntil ?? null,
      rankedEfficiency: scheduler.rankedEfficiency(session.node) ?? null,
      paces: (this.#options.paces?.(session.node) ?? []).map((pace) => ({
        podId: pace.podId,
        model: catalog.byId(pace.podId)?.spec.name ?? null,
        kind: pace.kind,
        perSecond: Math.round(pace.perSecond * 100) / 100,
        jobs: pace.jobs,
      })),
    };
  }
}

function stateOf(session: MinerSession, suspendedUntil: number | undefined, paused: boolean): NodeState {
  if (session.draining) return 'draining';
  if (session.capabilities === undefined) return 'waiting';
  if (suspendedUntil === undefined) return 'ready';
  return paused ? 'paused' : 'suspended';
}
