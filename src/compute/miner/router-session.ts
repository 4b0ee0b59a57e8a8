// One connection to the router: hello → challenge → answer → welcome (or refused), then capabilities,
// heartbeats, and the router's requests until the socket closes.
import type { Logger } from 'pino';
import type { Hex, LocalAccount } from 'viem';
import { decodeRouterMessage, type RawFrame } from '../../protocol/codec.ts';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import type { HandshakeRefusalCode } from '../../protocol/error-codes.ts';
import { type NeurinoError, RetryableError } from '../../protocol/errors.ts';
import { signChallenge } from '../../protocol/handshake-auth.ts';
import type { Challenge, MinerMessage, RouterMessage, Welcome } from '../../protocol/messages/index.ts';
import { MIN_SUPPORTED_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../../protocol/version.ts';
import { type CorkableStream, coalesceWritesThisTurn } from '../../protocol/write-coalescing.ts';
import { deliverableFrame } from './deliverable-frame.ts';
import { type AttemptOutcome, JobDesk } from './job-desk.ts';
import type { PodHost } from './pod-host.ts';
import { PodRequests } from './pod-requests.ts';
import { type DialRouter, type RouterSocket, SOCKET_OPEN } from './router-socket.ts';
import type { Slots } from './slots.ts';

export const NEURINO_VERSION = '0.1.0';

export interface SessionContext {
  readonly url: string;
  readonly account: LocalAccount;
  /** Receipts are signed in this domain. */
  readonly domain: ProtocolDomain;
  /** Challenge answers are signed in this domain. */
  readonly handshakeDomain: ProtocolDomain;
  readonly pods: PodHost;
  readonly slots: Slots;
  readonly logger: Logger;
  readonly dial: DialRouter;
  readonly handshakeTimeoutMs: number;
  /** How long past a job's deadline the miner stops it by itself; see DEADLINE_BACKSTOP_MS. */
  readonly deadlineBackstopMs?: number;
  /** The `capabilities` frame as of now. */
  capabilities(): MinerMessage & { type: 'capabilities' };
  /** True once the miner itself drains: refuse new jobs on every session. */
  minerDraining(): boolean;
  onWelcome(welcome: Welcome): void;
  onAttemptEnd(outcome: AttemptOutcome): void;
}

export type SessionEnd =
  | { kind: 'refused'; code: HandshakeRefusalCode; reason: string }
  /** The socket closed (or never opened); `drained` when the router asked us to drain first. */
  | { kind: 'closed'; welcomed: boolean; drained: boolean; code: number; reason: string; error?: Error };

const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_PROTOCOL_ERROR = 1002;
/** Pongs may lag this many heartbeats, and at least ROUTER_SILENCE_MS, before the router counts as gone. */
const MISSED_PONGS = 3;
/** Loading a model can hold the event loop for seconds: do not mistake that for a dead router. */
const ROUTER_SILENCE_MS = 15_000;

export class RouterSession {
  private readonly socket: RouterSocket;
  /** The TCP socket under `socket`, once upgraded: the frames sent in one turn leave in one write. */
  private stream: CorkableStream | undefined;
  private readonly desk: JobDesk;
  private readonly podRequests: PodRequests;
  private readonly ended: Promise<SessionEnd>;
  private phase: 'connecting' | 'hello' | 'answered' | 'welcomed' | 'closed' = 'connecting';
  private refusal: { code: HandshakeRefusalCode; reason: string } | undefined;
  private draining = false;
  private drained = false;
  private lastError: Error | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private lastHeard = Date.now();
  /** A heartbeat is due when a slot frees (a job was refused for want of one). */
  private slotNewsOwed = false;
  /** The warm pods and the memory they hold, as last announced. */
  private announcedPods = '';
  private readonly stopWatchingPods: () => void;
  sessionId: string | undefined;

  constructor(private readonly context: SessionContext) {
    const log = context.logger;
    this.desk = new JobDesk({
      account: context.account,
      domain: context.domain,
      pods: context.pods,
      slots: context.slots,
      logger: log,
      send: (message) => this.send(message),
      ...(context.deadlineBackstopMs === undefined ? {} : { deadlineBackstopMs: context.deadlineBackstopMs }),
      onAttemptEnd: (outcome) => {
        context.onAttemptEnd(outcome);
        this.announceIfPodsChanged();
      },
      onNoSlot: () => this.heartbeatWhenSlotFrees(),
    });
    this.podRequests = new PodRequests({
      pods: context.pods,
      logger: log,
      send: (message) => this.send(message),
      onChange: () => this.announceIfPodsChanged(),
    });
    // A pod unloaded to make room for another is cold at once, not when the job that wanted the room ends.
    this.stopWatchingPods = context.pods.onWarmChange(() => this.announceIfPodsChanged());
    this.socket = context.dial(context.url);
    this.ended = new Promise((resolve) => {
      this.socket.on('close', (code, reason) => resolve(this.finish(code, reason.toString('utf8'))));
    });
    this.socket.on('error', (error) => {
      this.lastError = error;
      log.debug({ err: error.message }, 'router socket error');
    });
    this.socket.on('upgrade', (response) => {
      this.stream = response.socket;
    });
    this.socket.on('open', () => this.sayHello());
    this.socket.on('message', (data) => {
      // Any frame shows the router is alive, as a pong does.
      this.lastHeard = Date.now();
      this.receive(data);
    });
    this.socket.on('pong', () => {
      this.lastHeard = Date.now();
    });
    this.handshakeTimer = setTimeout(() => {
      log.warn(`router did not complete the handshake within ${context.handshakeTimeoutMs} ms`);
      this.socket.terminate();
    }, context.handshakeTimeoutMs);
  }

  /** Resolves when the socket has closed and every attempt of this session has ended. */
  run(): Promise<SessionEnd> {
    return this.ended;
  }

  get welcomed(): boolean {
    return this.phase === 'welcomed';
  }

  get activeJobs(): number {
    return this.desk.active;
  }

  /** Says `draining`, lets running jobs finish (their results are sent), then closes normally. */
  async drain(reason: string): Promise<void> {
    if (!this.welcomed) {
      this.close(CLOSE_GOING_AWAY, reason);
      return;
    }
    if (!this.draining) {
      this.draining = true;
      this.send({ type: 'draining', activeJobs: this.desk.active });
    }
    await this.desk.idle();
    this.close(CLOSE_NORMAL, reason);
  }

  close(code: number = CLOSE_GOING_AWAY, reason = 'miner closing'): void {
    if (this.socket.readyState === SOCKET_OPEN) this.socket.close(code, reason);
    else this.socket.terminate();
  }

  private sayHello(): void {
    this.phase = 'hello';
    this.send({
      type: 'hello',
      version: PROTOCOL_VERSION,
      minVersion: MIN_SUPPORTED_PROTOCOL_VERSION,
      node: this.context.account.address,
      software: { neurino: NEURINO_VERSION, node: process.version },
    });
  }

  private receive(data: RawFrame): void {
    const decoded = decodeRouterMessage(data);
    if (!decoded.ok) {
      this.refuseFrame(data, decoded.error);
      return;
    }
    try {
      this.handle(decoded.message);
    } catch (error) {
      // A handler bug must not take the miner down: log it and carry on with the next frame.
      this.context.logger.error({ err: error }, `failed to handle ${decoded.message.type}`);
    }
  }

  private handle(message: RouterMessage): void {
    const log = this.context.logger;
    switch (message.type) {
      case 'challenge':
        if (this.phase === 'hello') void this.answer(message);
        else log.warn('router sent a challenge out of turn; ignored');
        return;
      case 'welcome':
        if (this.phase === 'answered') this.welcome(message);
        else log.warn('router sent welcome out of turn; ignored');
        return;
      case 'refused':
        this.refusal = { code: message.code, reason: message.reason };
        log.warn({ code: message.code }, `router refused this node: ${message.reason}`);
        this.close(CLOSE_NORMAL, 'refused');
        return;
      case 'drain':
        log.info({ reason: message.reason }, 'router asked this node to drain');
        this.drained = true;
        void this.drain("drained at the router's request");
        return;
    }
    if (!this.welcomed) {
      log.warn(`router sent ${message.type} before welcome; ignored`);
      return;
    }
    switch (message.type) {
      case 'job.assign':
        this.desk.assign(message, this.draining || this.context.minerDraining());
        return;
      case 'job.cancel':
        if (!this.desk.cancel(message.attemptId, message.reason, message.partial === true)) {
          log.debug({ attemptId: message.attemptId }, 'cancel for an attempt that is not running');
        }
        return;
      case 'pod.load':
        void this.podRequests.load(message.podId);
        return;
      case 'pod.unload':
        void this.podRequests.unload(message.podId);
        return;
    }
  }

  private async answer(challenge: Challenge): Promise<void> {
    this.phase = 'answered';
    try {
      const signature = await signChallenge(this.context.account, this.context.handshakeDomain, challenge);
      this.send({ type: 'challenge.answer', signature });
    } catch (error) {
      this.context.logger.error({ err: error }, "could not sign the router's challenge");
      this.close(CLOSE_PROTOCOL_ERROR, 'cannot sign challenge');
    }
  }

  private welcome(welcome: Welcome): void {
    if (welcome.version < MIN_SUPPORTED_PROTOCOL_VERSION || welcome.version > PROTOCOL_VERSION) {
      this.context.logger.error(
        `router chose protocol version ${welcome.version}, which this miner does not speak`,
      );
      this.close(CLOSE_PROTOCOL_ERROR, 'unsupported version');
      return;
    }
    clearTimeout(this.handshakeTimer);
    this.phase = 'welcomed';
    this.sessionId = welcome.sessionId;
    this.context.onWelcome(welcome);
    this.announce();
    this.lastHeard = Date.now();
    this.heartbeat = setInterval(() => this.beat(welcome.heartbeatMs), welcome.heartbeatMs);
  }

  private beat(intervalMs: number): void {
    if (Date.now() - this.lastHeard > Math.max(MISSED_PONGS * intervalMs, ROUTER_SILENCE_MS)) {
      this.context.logger.warn('router stopped answering pings; reconnecting');
      this.socket.terminate();
      return;
    }
    this.sendHeartbeat();
    if (this.socket.readyState === SOCKET_OPEN) this.socket.ping();
  }

  private sendHeartbeat(): void {
    const { slots } = this.context;
    this.send({ type: 'heartbeat', at: Date.now(), slotsFree: slots.free, load: slots.sampleLoad() });
  }

  /**
   * The router counts this node full since it refused a job for want of a slot, until it hears otherwise:
   * a heartbeat as soon as a slot frees, not at the next interval, so the job waiting for it goes on.
   */
  private heartbeatWhenSlotFrees(): void {
    if (this.slotNewsOwed) return;
    this.slotNewsOwed = true;
    void this.context.slots.whenGiven().then(() => {
      this.slotNewsOwed = false;
      if (this.phase === 'welcomed') this.sendHeartbeat();
    });
  }

  /** Sends the capabilities as of now (the node's pods or slots changed), once admitted. */
  announceCapabilities(): void {
    if (this.welcomed) this.announce();
  }

  private announce(): void {
    this.announcedPods = this.podState();
    this.send(this.context.capabilities());
  }

  /**
   * Capabilities go out again whenever the set of warm pods changed (a load, an unload, a cold start) or
   * the memory they hold did (an unload ends after the pod was announced cold at its start).
   */
  private announceIfPodsChanged(): void {
    if (this.welcomed && this.podState() !== this.announcedPods) this.announce();
  }

  private podState(): string {
    const { pods } = this.context;
    return `${pods.warmPodIds().join(',')}|${pods.heldMiB}`;
  }

  /** A frame that fails its schema is refused and logged; a bad assignment is answered with its error. */
  private refuseFrame(data: RawFrame, error: NeurinoError): void {
    this.context.logger.warn({ code: error.code }, `refused a frame from the router: ${error.message}`);
    const attemptId = assignedAttemptId(data);
    if (attemptId === undefined || !this.welcomed) return;
    this.send({
      type: 'job.error',
      attemptId,
      code: error.code,
      message: error.message.slice(0, 1024),
      retryable: false,
    });
  }

  /** Sends `message`; returns what went instead when it could not (a result too large for a frame). */
  private send(message: MinerMessage): MinerMessage | undefined {
    if (this.socket.readyState !== SOCKET_OPEN) return undefined;
    let delivered: ReturnType<typeof deliverableFrame>;
    try {
      delivered = deliverableFrame(message);
    } catch (error) {
      this.context.logger.error({ err: error, type: message.type }, 'could not encode a frame; not sent');
      return undefined;
    }
    if (this.stream !== undefined) coalesceWritesThisTurn(this.stream);
    this.socket.send(delivered.frame);
    return delivered.instead;
  }

  private async finish(code: number, reason: string): Promise<SessionEnd> {
    const welcomed = this.phase === 'welcomed';
    this.phase = 'closed';
    this.stopWatchingPods();
    clearTimeout(this.handshakeTimer);
    clearInterval(this.heartbeat);
    await this.desk.abortAll(
      new RetryableError('node_disconnected', { message: 'connection to the router lost' }),
    );
    if (this.refusal !== undefined) return { kind: 'refused', ...this.refusal };
    return {
      kind: 'closed',
      welcomed,
      drained: this.drained,
      code,
      reason,
      ...(this.lastError === undefined ? {} : { error: this.lastError }),
    };
  }
}

/** The attemptId of a `job.assign` frame that failed its schema, when it carries a well-formed one. */
function assignedAttemptId(data: RawFrame): Hex | undefined {
  try {
    const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : undefined;
    if (text === undefined || text.length > 1 << 20) return undefined;
    const value = JSON.parse(text) as { type?: unknown; attemptId?: unknown };
    if (value.type !== 'job.assign' || typeof value.attemptId !== 'string') return undefined;
    return /^0x[0-9a-fA-F]{64}$/.test(value.attemptId) ? (value.attemptId.toLowerCase() as Hex) : undefined;
  } catch {
    return undefined;
  }
}
