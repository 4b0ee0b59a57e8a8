import type { Logger } from 'pino';
import { type Address, getAddress } from 'viem';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import type { HandshakeRefusalCode } from '../../protocol/error-codes.ts';
import { asNeurinoError } from '../../protocol/errors.ts';
import { newApiId } from '../../protocol/ids.ts';
import type { CorkableStream } from '../../protocol/write-coalescing.ts';
import { MinerConnection } from './miner-connection.ts';
import { type AdmittedMiner, runHandshake } from './miner-handshake.ts';
import { MinerSession } from './miner-session.ts';
import { CLOSE_CODES, type MinerSocket } from './miner-socket.ts';
import type { NodeAdmission } from './node-admission.ts';
import type { SessionChange } from './session-events.ts';

export interface MinerHubOptions {
  /** Bound into every challenge, so an answer cannot be replayed to another router. */
  routerId: string;
  /** EIP-712 domain of receipts (chain id + Settlement). */
  domain: ProtocolDomain;
  /** EIP-712 domain of handshake signatures; defaults to `domain`. */
  handshakeDomain?: ProtocolDomain;
  admission: NodeAdmission;
  logger: Logger;
  /** Interval miners send heartbeats at (default 5 s). */
  heartbeatMs?: number;
  /** Heartbeats a session may miss before it is dropped (default 3). */
  missedHeartbeats?: number;
  /** Time for hello + challenge answer (default 10 s). */
  handshakeTimeoutMs?: number;
  challengeTtlMs?: number;
  /** Protocol violations tolerated per session before it is closed (default 16). */
  maxBadFrames?: number;
  /** Re-check admission of connected nodes this often, dropping jailed or unstaked ones (default 60 s; 0 = never). */
  readmitEveryMs?: number;
  /**
   * Handshakes under way at once, in all (default 256) and from one address (default 16). A handshake
   * costs its peer nothing but a fresh key, and the router a chain read: past these, new sockets are
   * refused with `service_unavailable` (the miner retries with backoff) before any of that work.
   */
  maxHandshakes?: number;
  maxHandshakesPerAddress?: number;
}

/** The hub's limits unless told otherwise (the router's flags show them). */
export const MINER_HUB_DEFAULTS = {
  heartbeatMs: 5_000,
  maxHandshakes: 256,
  maxHandshakesPerAddress: 16,
} as const;

export type HubListener = (session: MinerSession, change: SessionChange) => void;

export interface HubStats {
  connectedNodes: number;
  handshaking: number;
  inFlightAttempts: number;
  refusals: Partial<Record<HandshakeRefusalCode, number>>;
  badFrames: number;
  heartbeatTimeouts: number;
}

/**
 * Miner sessions over WebSocket. Each socket goes through the handshake (version, challenge signed by the
 * node key, on-chain admission); an admitted node gets one session (a newer connection from the same node
 * replaces the older one). Listeners hear every session change: the scheduler stays in step through them.
 */
export class MinerHub {
  readonly routerId: string;
  readonly domain: ProtocolDomain;
  readonly heartbeatMs: number;
  readonly #options: MinerHubOptions;
  readonly #sessions = new Map<Address, MinerSession>();
  readonly #handshaking = new Set<MinerConnection>();
  readonly #handshakingFrom = new Map<string, number>();
  readonly #listeners = new Set<HubListener>();
  readonly #refusals: Partial<Record<HandshakeRefusalCode, number>> = {};
  readonly #readmitTimer: NodeJS.Timeout | undefined;
  #badFrames = 0;
  #heartbeatTimeouts = 0;
  #closing = false;

  constructor(options: MinerHubOptions) {
    this.#options = options;
    this.routerId = options.routerId;
    this.domain = options.domain;
    this.heartbeatMs = options.heartbeatMs ?? MINER_HUB_DEFAULTS.heartbeatMs;
    const readmitEveryMs = options.readmitEveryMs ?? 60_000;
    if (readmitEveryMs > 0) {
      this.#readmitTimer = setInterval(() => void this.readmit(), readmitEveryMs);
      this.#readmitTimer.unref();
    }
  }

  /**
   * Takes over a freshly accepted socket (e.g. from @fastify/websocket on `/v1/miners`); `stream`, the TCP
   * socket under it, lets the frames of one event-loop turn leave in one write.
   */
  handleSocket(socket: MinerSocket, remoteAddress: string, stream?: CorkableStream): void {
    const logger = this.#options.logger.child({ remoteAddress });
    const connection = new MinerConnection(socket, remoteAddress, logger, stream);
    if (this.#closing) {
      connection.send({ type: 'refused', code: 'service_unavailable', reason: 'router is shutting down' });
      connection.close(CLOSE_CODES.goingAway, 'router is shutting down');
      return;
    }
    const busy = this.#handshakeLimitReached(remoteAddress);
    if (busy !== undefined) {
      this.#refusals.service_unavailable = (this.#refusals.service_unavailable ?? 0) + 1;
      // Debug, not warn: a flood would flood the log; the refusals are counted in /metrics.
      logger.debug({ handshaking: this.#handshaking.size }, `refused a miner: ${busy}`);
      connection.send({ type: 'refused', code: 'service_unavailable', reason: `${busy}; retry later` });
      connection.close(CLOSE_CODES.tryAgainLater, 'too many handshakes');
      return;
    }
    this.#handshaking.add(connection);
    this.#handshakingFrom.set(remoteAddress, (this.#handshakingFrom.get(remoteAddress) ?? 0) + 1);
    void runHandshake(connection, {
      routerId: this.routerId,
      domain: this.#options.handshakeDomain ?? this.domain,
      admission: this.#options.admission,
      timeoutMs: this.#options.handshakeTimeoutMs ?? 10_000,
      ...(this.#options.challengeTtlMs === undefined ? {} : { challengeTtlMs: this.#options.challengeTtlMs }),
      logger,
      onRefused: (code) => {
        this.#refusals[code] = (this.#refusals[code] ?? 0) + 1;
      },
    }).then((admitted) => {
      this.#handshaking.delete(connection);
      const left = (this.#handshakingFrom.get(remoteAddress) ?? 1) - 1;
      if (left > 0) this.#handshakingFrom.set(remoteAddress, left);
      else this.#handshakingFrom.delete(remoteAddress);
      this.#badFrames += connection.badFrames;
      if (admitted !== undefined) this.#admit(connection, admitted, logger);
    });
  }

  /** Why a new socket from `remoteAddress` may not start a handshake now, if it may not. */
  #handshakeLimitReached(remoteAddress: string): string | undefined {
    const total = this.#options.maxHandshakes ?? MINER_HUB_DEFAULTS.maxHandshakes;
    if (this.#handshaking.size >= total) return `too many miners are connecting at once (${total})`;
    const perAddress = this.#options.maxHandshakesPerAddress ?? MINER_HUB_DEFAULTS.maxHandshakesPerAddress;
    if ((this.#handshakingFrom.get(remoteAddress) ?? 0) >= perAddress)
      return `too many handshakes under way from ${remoteAddress} (${perAddress})`;
    return undefined;
  }

  /** Admitted sessions. */
  sessions(): MinerSession[] {
    return [...this.#sessions.values()];
  }

  session(node: Address): MinerSession | undefined {
    return this.#sessions.get(node) ?? this.#sessions.get(getAddress(node));
  }

  subscribe(listener: HubListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): HubStats {
    let inFlightAttempts = 0;
    let badFrames = this.#badFrames;
    for (const session of this.#sessions.values()) inFlightAttempts += session.inFlight;
    for (const connection of this.#handshaking) badFrames += connection.badFrames;
    return {
      connectedNodes: this.#sessions.size,
      handshaking: this.#handshaking.size,
      inFlightAttempts,
      refusals: { ...this.#refusals },
      badFrames,
      heartbeatTimeouts: this.#heartbeatTimeouts,
    };
  }

  /** Re-checks every connected node and closes the sessions of those no longer admitted. */
  async readmit(): Promise<void> {
    for (const session of this.sessions()) {
      let verdict: Awaited<ReturnType<NodeAdmission['check']>>;
      try {
        verdict = await this.#options.admission.check(session.node);
      } catch (error) {
        this.#options.logger.warn(
          { err: asNeurinoError(error), node: session.node },
          'admission re-check failed',
        );
        continue;
      }
      if (verdict.ok || session.closed) continue;
      this.#options.logger.warn({ node: session.node, code: verdict.code }, 'node no longer admitted');
      this.#refusals[verdict.code] = (this.#refusals[verdict.code] ?? 0) + 1;
      session.refuse(verdict.code, verdict.reason, CLOSE_CODES.revoked);
    }
  }

  /**
   * Drains: tells every miner, waits up to `graceMs` (default 10 s) for running attempts to finish, then
   * closes every socket. New sockets are refused from the start.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    this.#closing = true;
    if (this.#readmitTimer !== undefined) clearInterval(this.#readmitTimer);
    for (const connection of this.#handshaking)
      connection.close(CLOSE_CODES.goingAway, 'router is shutting down');
    for (const session of this.#sessions.values()) session.drain('router is shutting down');
    await this.#idle(options.graceMs ?? 10_000);
    for (const session of this.sessions()) session.close(CLOSE_CODES.goingAway, 'router is shutting down');
  }

  #admit(connection: MinerConnection, admitted: AdmittedMiner, logger: Logger): void {
    const previous = this.#sessions.get(admitted.node);
    if (previous !== undefined) previous.close(CLOSE_CODES.replaced, 'replaced by a newer connection');
    const id = newApiId('session');
    const sessionLogger = logger.child({ node: admitted.node, session: id });
    connection.setLogger(sessionLogger);
    const session = new MinerSession(connection, admitted, {
      id,
      heartbeatMs: this.heartbeatMs,
      missedHeartbeats: this.#options.missedHeartbeats ?? 3,
      maxBadFrames: this.#options.maxBadFrames ?? 16,
      logger: sessionLogger,
      onChange: (changed, change) => this.#changed(changed, change),
    });
    this.#sessions.set(admitted.node, session);
    sessionLogger.info({ version: admitted.version, software: admitted.software }, 'miner admitted');
    this.#changed(session, { kind: 'ready' });
    session.welcome();
  }

  #changed(session: MinerSession, change: SessionChange): void {
    if (change.kind === 'closed') {
      if (this.#sessions.get(session.node) === session) this.#sessions.delete(session.node);
      if (change.code === CLOSE_CODES.heartbeatTimeout) this.#heartbeatTimeouts++;
      this.#badFrames += session.badFrames;
    }
    for (const listener of this.#listeners) {
      try {
        listener(session, change);
      } catch (error) {
        this.#options.logger.error({ err: error, change: change.kind }, 'hub listener failed');
      }
    }
  }

  async #idle(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.sessions().some((s) => s.inFlight > 0) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
        const unsubscribe = this.subscribe((_, change) => {
          if (change.kind === 'slots' || change.kind === 'closed') done();
        });
        function done() {
          clearTimeout(timer);
          unsubscribe();
          resolve();
        }
      });
    }
  }
}
