// The reconnect loop: one session to the router at a time, redialled with backoff until the miner is
// stopped, drained, or refused for good.
import type { Logger } from 'pino';
import type { Address } from 'viem';
import type { HandshakeRefusalCode } from '../../protocol/error-codes.ts';
import { backoffDelay, sleep } from './backoff.ts';
import { capabilitiesMessage } from './capabilities.ts';
import { MinerError } from './errors.ts';
import type { Hardware } from './hardware/probe.ts';
import type { Miner, MinerConfig, MinerExit, MinerState, MinerStatus } from './miner.ts';
import type { HostedPod, HostedPodConfig, PodChanges, PodHost } from './pod-host.ts';
import { logPodMemory, preload } from './pod-preload.ts';
import { RouterSession, type SessionEnd } from './router-session.ts';
import { dialRouter } from './router-socket.ts';
import type { Slots } from './slots.ts';

/** Refusals that reconnecting cannot fix (a wrong domain, an old miner), whatever `retryRefused` says. */
const ALWAYS_FINAL: ReadonlySet<HandshakeRefusalCode> = new Set(['bad_signature', 'unsupported_version']);
const STANDING: ReadonlySet<HandshakeRefusalCode> = new Set([
  'node_not_registered',
  'node_not_staked',
  'node_jailed',
]);

export interface MinerLoopParts {
  readonly config: MinerConfig;
  /** The normalised miner endpoint. */
  readonly router: string;
  readonly pods: PodHost;
  readonly slots: Slots;
  readonly hardware: Hardware;
  readonly efficiency: number;
  readonly log: Logger;
}

export class MinerLoop implements Miner {
  readonly address: Address;
  readonly done: Promise<MinerExit>;
  private resolveDone!: (exit: MinerExit) => void;
  private readonly connectedOnce: Promise<void>;
  private resolveConnected!: () => void;
  private rejectConnected!: (error: MinerError) => void;
  private readonly stopSignal = new AbortController();
  private session: RouterSession | undefined;
  private status: MinerStatus = 'connecting';
  private draining = false;
  private connections = 0;
  private succeeded = 0;
  private failed = 0;
  private lastRefusal: MinerState['lastRefusal'];

  private readonly config: MinerConfig;
  private readonly router: string;
  private readonly pods: PodHost;
  private readonly slots: Slots;
  private readonly hardware: Hardware;
  private readonly efficiency: number;
  private readonly log: Logger;

  constructor(parts: MinerLoopParts) {
    ({
      config: this.config,
      router: this.router,
      pods: this.pods,
      slots: this.slots,
      hardware: this.hardware,
      efficiency: this.efficiency,
      log: this.log,
    } = parts);
    this.address = this.config.account.address;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.connectedOnce = new Promise((resolve, reject) => {
      this.resolveConnected = resolve;
      this.rejectConnected = reject;
    });
    // Nobody may be waiting for `connected()`; an early end must not become an unhandled rejection.
    this.connectedOnce.catch(() => undefined);
  }

  start(): this {
    void this.loop().then(async (exit) => {
      this.status = 'stopped';
      this.rejectConnected(
        new MinerError(exit.reason === 'refused' ? 'router_refused' : 'miner_stopped', describeExit(exit)),
      );
      await this.pods.unloadAll().catch((error) => this.log.error({ err: error }, 'unloading pods failed'));
      this.log.info(describeExit(exit));
      this.resolveDone(exit);
    });
    return this;
  }

  connected(): Promise<void> {
    return this.connectedOnce;
  }

  async drain(): Promise<void> {
    if (!this.draining && this.status !== 'stopped') {
      this.draining = true;
      this.status = 'draining';
      this.log.info(
        { activeJobs: this.session?.activeJobs ?? 0 },
        'draining: finishing running jobs, taking no new',
      );
      // Stop reconnecting first: the session below is the last one.
      this.stopSignal.abort();
      await this.session?.drain('miner draining');
    }
    await this.done;
  }

  /**
   * Hosts exactly these pods from now on (the operator reloaded the configuration): new ones are loaded
   * (when the miner preloads) and announced, the slots follow the pods' own unless the operator fixed
   * them, and pods no longer listed leave the announcement at once and unload once their running jobs
   * end. A bad set changes nothing.
   */
  async updatePods(configs: readonly HostedPodConfig[]): Promise<PodChanges> {
    if (configs.length === 0) throw new MinerError('invalid_config', 'a miner needs at least one pod');
    if (this.draining || this.status === 'stopped') {
      throw new MinerError('miner_stopped', 'the miner is draining or stopped: its pods stay as they are');
    }
    const changes = this.pods.replace(configs);
    if (this.config.slots === undefined) {
      this.slots.resize(this.pods.list().reduce((sum, pod) => sum + pod.runtime.info().slots, 0));
    }
    this.session?.announceCapabilities();
    for (const pod of changes.added) logPodMemory(pod, this.log);
    if (this.config.preload ?? true) {
      for (const pod of changes.added) {
        try {
          await preload(pod, this.log);
        } catch (error) {
          // Hosted cold: a job for it tries again, and the router hears it cannot load.
          this.log.error({ err: error, podId: pod.podId }, `pod ${pod.spec.name} did not load`);
        }
      }
      this.session?.announceCapabilities();
    }
    const named = (pods: readonly HostedPod[]) => pods.map((pod) => `${pod.spec.name} (${pod.podId})`);
    this.log.info(
      { added: named(changes.added), removed: named(changes.removed), slots: this.slots.total },
      `pods reloaded: ${changes.added.length} added, ${changes.removed.length} removed, ${changes.kept.length} kept`,
    );
    await Promise.all(
      changes.removed.map((pod) =>
        pod
          .unload()
          .catch((error) => this.log.error({ err: error, podId: pod.podId }, 'unloading a pod failed')),
      ),
    );
    return changes;
  }

  async stop(): Promise<void> {
    this.stopSignal.abort();
    this.session?.close(1001, 'miner stopping');
    await this.done;
  }

  state(): MinerState {
    return {
      status: this.status,
      node: this.address,
      router: this.router,
      sessionId: this.session?.welcomed ? this.session.sessionId : undefined,
      connections: this.connections,
      slots: { total: this.slots.total, free: this.slots.free },
      activeJobs: this.slots.active,
      jobsSucceeded: this.succeeded,
      jobsFailed: this.failed,
      warmPods: this.pods.warmPodIds(),
      podMemory: { budgetMiB: this.pods.memoryMiB, heldMiB: this.pods.heldMiB },
      efficiency: this.efficiency,
      hardware: this.hardware,
      lastRefusal: this.lastRefusal,
    };
  }

  private async loop(): Promise<MinerExit> {
    let failures = 0;
    while (!this.stopSignal.signal.aborted) {
      const end = await this.connectOnce();
      if (this.stopSignal.signal.aborted) break;
      if (end.kind === 'refused') {
        this.lastRefusal = { code: end.code, reason: end.reason };
        if (ALWAYS_FINAL.has(end.code) || (STANDING.has(end.code) && this.config.retryRefused !== true)) {
          return { reason: 'refused', refusal: this.lastRefusal };
        }
      } else if (end.welcomed) failures = 0;
      const delay = backoffDelay(failures++, this.config.reconnect);
      this.log.warn({ delayMs: delay }, `${describeEnd(end)}; reconnecting in ${delay} ms`);
      await sleep(delay, this.stopSignal.signal);
    }
    return { reason: this.draining ? 'drained' : 'stopped' };
  }

  private async connectOnce(): Promise<SessionEnd> {
    if (!this.draining) this.status = 'connecting';
    const session = new RouterSession({
      url: this.router,
      account: this.config.account,
      domain: this.config.domain,
      handshakeDomain: this.config.handshakeDomain ?? this.config.domain,
      pods: this.pods,
      slots: this.slots,
      logger: this.log,
      dial: this.config.dial ?? dialRouter,
      handshakeTimeoutMs: this.config.handshakeTimeoutMs ?? 15_000,
      ...(this.config.deadlineBackstopMs === undefined
        ? {}
        : { deadlineBackstopMs: this.config.deadlineBackstopMs }),
      capabilities: () =>
        capabilitiesMessage({
          hardware: this.hardware,
          efficiency: this.efficiency,
          slots: this.slots,
          pods: this.pods,
        }),
      minerDraining: () => this.draining,
      onWelcome: (welcome) => {
        this.connections++;
        if (!this.draining) this.status = 'connected';
        this.log.info({ sessionId: welcome.sessionId, router: this.router }, 'admitted by the router');
        this.resolveConnected();
      },
      onAttemptEnd: (outcome) => {
        if (outcome.ok) this.succeeded++;
        else this.failed++;
        this.config.onAttemptEnd?.(outcome);
      },
    });
    this.session = session;
    // A drain or stop that raced the dial applies to the new session too.
    if (this.stopSignal.signal.aborted) session.close(1001, 'miner stopping');
    try {
      return await session.run();
    } finally {
      this.session = undefined;
    }
  }
}

function describeEnd(end: SessionEnd): string {
  if (end.kind === 'refused') return `router refused the node (${end.code}): ${end.reason}`;
  if (end.drained) return "drained at the router's request";
  if (!end.welcomed) return `could not reach the router${end.error ? `: ${end.error.message}` : ''}`;
  return `connection to the router closed (${end.code}${end.reason === '' ? '' : ` ${end.reason}`})`;
}

function describeExit(exit: MinerExit): string {
  if (exit.reason === 'refused' && exit.refusal !== undefined) {
    return `miner stopped: the router refused this node (${exit.refusal.code}): ${exit.refusal.reason}`;
  }
  return exit.reason === 'drained' ? 'miner drained and stopped' : 'miner stopped';
}
