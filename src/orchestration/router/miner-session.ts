import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import type { RawFrame } from '../../protocol/codec.ts';
import type { HandshakeRefusalCode } from '../../protocol/error-codes.ts';
import { errorFromPeer, type NeurinoError, RetryableError } from '../../protocol/errors.ts';
import type { MinerMessage } from '../../protocol/messages/index.ts';
import type { JobAccepted, JobAssign, JobChunk, JobError, JobResult } from '../../protocol/messages/jobs.ts';
import type { Capabilities, Heartbeat } from '../../protocol/messages/node-state.ts';
import type { PodSpec } from '../../protocol/pod-spec.ts';
import { attemptOfBrokenFrame } from './broken-frame.ts';
import type { MinerConnection } from './miner-connection.ts';
import type { AdmittedMiner } from './miner-handshake.ts';
import { CLOSE_CODES } from './miner-socket.ts';
import type { NodeSnapshot } from './scheduler.ts';
import type { AttemptListener, SessionChange } from './session-events.ts';
import { SessionSlots } from './session-slots.ts';

export interface MinerSessionOptions {
  id: string;
  heartbeatMs: number;
  missedHeartbeats: number;
  maxBadFrames: number;
  logger: Logger;
  onChange: (session: MinerSession, change: SessionChange) => void;
}

/**
 * An admitted miner: its capabilities and warm pods, its slots as this router counts them, and the
 * attempts running on it. Frames about an attempt go to that attempt's listener; when the socket closes
 * or heartbeats stop, every running attempt fails with a retryable error so the job moves on.
 */
export class MinerSession {
  readonly id: string;
  readonly node: Address;
  readonly version: number;
  readonly software: AdmittedMiner['software'];
  readonly connectedAt = Date.now();
  capabilities: Capabilities | undefined;
  lastHeartbeat: Heartbeat | undefined;
  /** When this router received `lastHeartbeat` (its own clock). */
  lastHeartbeatAt: number | undefined;
  warmPods = new Set<Hex>();
  draining = false;
  #closed = false;
  readonly #slots: SessionSlots;
  /** When this router last assigned each pod's job here (its own clock): the autoscaler's idle time. */
  readonly #podAssignedAt = new Map<Hex, number>();
  readonly #connection: MinerConnection;
  readonly #options: MinerSessionOptions;
  readonly #logger: Logger;

  constructor(connection: MinerConnection, admitted: AdmittedMiner, options: MinerSessionOptions) {
    this.#connection = connection;
    this.#options = options;
    this.id = options.id;
    this.node = admitted.node;
    this.version = admitted.version;
    this.software = admitted.software;
    this.#logger = options.logger;
    // A node that never reports a cancelled attempt's end has it back when a silent node would be dropped.
    this.#slots = new SessionSlots(options.heartbeatMs * options.missedHeartbeats, (attemptId, podId) => {
      this.#logger.warn(
        { attemptId },
        'the node never reported a cancelled attempt ending; its slot is free',
      );
      this.#changed({ kind: 'slots', podId });
    });
    connection.setHandler({
      message: (message) => this.#receive(message),
      badFrame: (error, raw) => this.#badFrame(error, raw),
    });
    connection.onClose((code) => this.#closedWith(code, this.#closeError(code)));
    const silenceMs = options.heartbeatMs * options.missedHeartbeats;
    connection.watchIdle(silenceMs, () => {
      this.#logger.warn({ silenceMs }, 'miner missed its heartbeats; dropping the session');
      const error = new RetryableError('node_timeout', {
        message: `node ${this.node} missed ${options.missedHeartbeats} heartbeats`,
        details: { node: this.node },
      });
      this.#closedWith(CLOSE_CODES.heartbeatTimeout, error);
      connection.terminate(CLOSE_CODES.heartbeatTimeout);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get inFlight(): number {
    return this.#slots.running;
  }

  /**
   * Slots this router may still fill (0 until capabilities arrive): the node's, less those its attempts
   * hold (cancelled ones until the node reports their end) and those the node says are busy otherwise.
   */
  get freeSlots(): number {
    return this.#slots.free;
  }

  /**
   * The slots free for the pod's next job: fewer than `freeSlots` when the pod keeps slots of its own on
   * the node (several pods on it) and its jobs hold them.
   */
  freeSlotsFor(podId: Hex): number {
    return this.#slots.freeFor(podId);
  }

  /** The pod's own slots free on this node; undefined when it keeps none (its jobs take any free slot). */
  podOwnFreeSlots(podId: Hex): number | undefined {
    return this.#slots.ownFree(podId);
  }

  /** The scheduler's view, or undefined before the first `capabilities`. */
  snapshot(): NodeSnapshot | undefined {
    if (this.capabilities === undefined) return undefined;
    return {
      node: this.node,
      hardware: this.capabilities,
      warmPods: this.warmPods,
      freeSlots: this.freeSlots,
      podFreeSlots: this.#slots.ownFreeByPod(),
      draining: this.draining,
    };
  }

  /** Sends the assignment; throws a RetryableError when the node cannot take it now. */
  startAttempt(assign: JobAssign, listener: AttemptListener): void {
    if (this.#closed) throw new RetryableError('node_disconnected', { details: { node: this.node } });
    if (this.draining) throw new RetryableError('node_draining', { details: { node: this.node } });
    if (this.freeSlots === 0) throw new RetryableError('no_capacity', { details: { node: this.node } });
    if (this.#slots.has(assign.attemptId)) {
      throw new RetryableError('node_failed', { message: `attempt ${assign.attemptId} already runs here` });
    }
    this.#slots.start(assign.attemptId, { listener, podId: assign.podId });
    let sent = false;
    try {
      sent = this.#connection.send(assign);
    } finally {
      if (!sent) this.#slots.end(assign.attemptId);
    }
    if (!sent) throw new RetryableError('node_disconnected', { details: { node: this.node } });
    this.#podAssignedAt.set(assign.podId, Date.now());
    this.#changed({ kind: 'slots', podId: assign.podId });
  }

  /** Whether a job of the pod this router assigned runs here now. */
  runsPod(podId: Hex): boolean {
    return this.#slots.runningOf(podId) > 0;
  }

  /**
   * The slots this router may fill with the pod's jobs here: those free for it and those its jobs hold
   * now, not those other pods' jobs (or jobs the node took before this session) hold.
   */
  slotsFor(podId: Hex): number {
    return this.freeSlotsFor(podId) + this.#slots.runningOf(podId);
  }

  /** When this router last assigned a job of the pod to this node; undefined when never. */
  podAssignedAt(podId: Hex): number | undefined {
    return this.#podAssignedAt.get(podId);
  }

  /** Asks the node to load the pod and keep it warm (it answers pod.loaded or pod.failed). */
  loadPod(podId: Hex, spec: PodSpec): boolean {
    if (this.#closed || this.draining) return false;
    return this.#connection.send({ type: 'pod.load', podId, spec });
  }

  /** Asks the node to unload the pod once its running jobs end (it answers pod.unloaded). */
  unloadPod(podId: Hex): boolean {
    if (this.#closed) return false;
    return this.#connection.send({ type: 'pod.unload', podId });
  }

  /**
   * Stops an attempt (deadline, node too slow); its listener hears nothing more. Its slot stays taken
   * until the node reports the attempt's end: a job sent there before would find no slot free.
   */
  cancelAttempt(attemptId: Hex, reason: string): void {
    if (this.#slots.cancel(attemptId) === undefined) return;
    this.#connection.send({ type: 'job.cancel', attemptId, reason: reason.slice(0, 512) });
  }

  /**
   * Stops an attempt whose caller went away but pays for the work done: the node is asked for a result of
   * it, so the attempt stays listened to (and its slot taken) until its result or error, or `forgetAttempt`.
   */
  cancelAttemptPaid(attemptId: Hex, reason: string): void {
    if (!this.#slots.has(attemptId)) return;
    this.#connection.send({ type: 'job.cancel', attemptId, reason: reason.slice(0, 512), partial: true });
  }

  /**
   * Stops listening to an attempt (a paid cancel the node did not answer in time); as after a cancel, its
   * slot stays taken until the node reports the attempt's end.
   */
  forgetAttempt(attemptId: Hex): void {
    this.#slots.cancel(attemptId);
  }

  /** Asks the miner to finish its jobs and leave; no new job is assigned meanwhile. */
  drain(reason: string): void {
    if (this.#closed) return;
    this.#connection.send({ type: 'drain', reason: reason.slice(0, 512) });
    this.#markDraining();
  }

  /** Closes now; running attempts fail as `node_disconnected` (retryable). */
  close(code: number, reason: string): void {
    this.#closedWith(code, new RetryableError('node_disconnected', { message: `session closed: ${reason}` }));
    this.#connection.close(code, reason);
  }

  /** Tells the miner why it is no longer admitted, then closes. */
  refuse(code: HandshakeRefusalCode, reason: string, closeCode: number): void {
    if (this.#closed) return;
    this.#connection.send({ type: 'refused', code, reason: reason.slice(0, 512) });
    this.close(closeCode, code);
  }

  get badFrames(): number {
    return this.#connection.badFrames;
  }

  /** Sends `welcome`; the miner answers with its capabilities. */
  welcome(): void {
    this.#connection.send({
      type: 'welcome',
      version: this.version,
      sessionId: this.id,
      heartbeatMs: this.#options.heartbeatMs,
    });
  }

  #receive(message: MinerMessage): void {
    switch (message.type) {
      case 'capabilities':
        this.capabilities = message;
        this.#slots.announce(message);
        this.warmPods = new Set(message.warmPods);
        this.#changed({ kind: 'capabilities' });
        break;
      case 'heartbeat':
        this.lastHeartbeat = message;
        this.lastHeartbeatAt = Date.now();
        // The node's count of its free slots corrects what it runs that this router did not assign.
        if (this.#slots.recount(message.slotsFree)) this.#changed({ kind: 'slots' });
        this.#changed({ kind: 'heartbeat' });
        break;
      case 'draining':
        this.#logger.info({ activeJobs: message.activeJobs }, 'miner is draining');
        this.#markDraining();
        break;
      case 'pod.loaded':
        this.warmPods.add(message.podId);
        this.#changed({ kind: 'pod.loaded', podId: message.podId });
        break;
      case 'pod.unloaded':
        this.warmPods.delete(message.podId);
        this.#changed({ kind: 'pod.unloaded', podId: message.podId });
        break;
      case 'pod.failed':
        this.#logger.warn(
          { podId: message.podId, code: message.code, reason: message.message },
          'pod failed to load',
        );
        this.warmPods.delete(message.podId);
        this.#changed({ kind: 'pod.failed', podId: message.podId, code: message.code });
        break;
      case 'job.accepted':
      case 'job.chunk':
      case 'job.result':
      case 'job.error':
        this.#attemptFrame(message);
        break;
      case 'hello':
      case 'challenge.answer':
        this.#violation(`\`${message.type}\` after the handshake`);
        break;
    }
  }

  /** Routes a job frame to its attempt; a result or error ends the attempt and frees its slot first. */
  #attemptFrame(message: JobAccepted | JobChunk | JobResult | JobError): void {
    const { attemptId } = message;
    const ends = message.type === 'job.result' || message.type === 'job.error';
    // A refusal says how many slots the node has free: the count follows before anyone is woken.
    const slotsFree = message.type === 'job.error' ? message.slotsFree : undefined;
    const listener = ends ? this.#finish(attemptId, slotsFree) : this.#slots.listener(attemptId);
    if (listener === undefined) {
      // A cancelled attempt's end frees its slot; any other frame of a finished attempt is stale.
      if (ends && this.#cancelledEnded(attemptId, slotsFree)) return;
      this.#logger.debug({ attemptId, type: message.type }, 'frame for an attempt that is no longer running');
      return;
    }
    if (message.type === 'job.accepted') listener.accepted();
    else if (message.type === 'job.chunk') listener.chunk(message);
    else if (message.type === 'job.result') listener.result(message);
    else {
      // The router's own code for a job too large to send, which would end the job unpunished.
      const code = message.code === 'payload_too_large' ? 'node_failed' : message.code;
      const { param, retryAfterMs } = message;
      listener.failed(errorFromPeer(code, message.message, message.retryable, { param, retryAfterMs }));
    }
  }

  #badFrame(error: NeurinoError, raw: RawFrame): void {
    const attempt = attemptOfBrokenFrame(raw);
    if (attempt !== undefined) this.#badAttemptFrame(attempt.attemptId, attempt.ending, error);
    this.#closeIfTooManyBadFrames();
  }

  /**
   * A broken frame about a running attempt fails that attempt now rather than at its deadline. A broken
   * result or error was the attempt's end on the node, which frees its slot; after any other frame the
   * node still runs it until the cancel, so its slot stays taken until the node reports the end.
   */
  #badAttemptFrame(attemptId: Hex, ending: boolean, error: NeurinoError): void {
    const listener = ending ? this.#finish(attemptId) : this.#slots.cancel(attemptId)?.listener;
    if (listener === undefined) {
      if (ending) this.#cancelledEnded(attemptId);
      return;
    }
    this.#connection.send({ type: 'job.cancel', attemptId, reason: 'malformed frame' });
    listener.failed(
      new RetryableError('bad_result', { message: `malformed frame: ${error.message}`, cause: error }),
    );
  }

  #violation(reason: string): void {
    this.#connection.badFrames++;
    this.#logger.warn({ reason }, 'miner broke the protocol');
    this.#closeIfTooManyBadFrames();
  }

  #closeIfTooManyBadFrames(): void {
    if (this.#connection.badFrames <= this.#options.maxBadFrames) return;
    this.#logger.warn({ badFrames: this.#connection.badFrames }, 'too many bad frames; closing the session');
    this.close(CLOSE_CODES.policyViolation, 'too many bad frames');
  }

  /** The end of an attempt cancelled here reached us: its slot is free. False: none was awaited. */
  #cancelledEnded(attemptId: Hex, slotsFree?: number): boolean {
    const podId = this.#slots.cancelledEnded(attemptId, slotsFree);
    if (podId === undefined) return false;
    this.#changed({ kind: 'slots', podId });
    return true;
  }

  #finish(attemptId: Hex, slotsFree?: number): AttemptListener | undefined {
    const attempt = this.#slots.end(attemptId, slotsFree);
    if (attempt === undefined) return undefined;
    this.#changed({ kind: 'slots', podId: attempt.podId });
    return attempt.listener;
  }

  /**
   * Why the attempts still running here fail when the socket closes. A draining node finishes the jobs it
   * took before it closes normally, so those left were sent as it drained and never taken: it was busy,
   * not at fault, and the jobs go on elsewhere at no cost to their budget.
   */
  #closeError(code: number): NeurinoError {
    const details = { node: this.node, closeCode: code };
    if (this.draining && code === CLOSE_CODES.normal) {
      const message = `node ${this.node} drained and closed before taking the job`;
      return new RetryableError('node_draining', { message, details });
    }
    return new RetryableError('node_disconnected', { message: `node ${this.node} disconnected`, details });
  }

  #markDraining(): void {
    if (this.draining) return;
    this.draining = true;
    this.#changed({ kind: 'draining' });
  }

  #fail(error: NeurinoError): void {
    const listeners = this.#slots.clear();
    for (const listener of listeners) listener.failed(error);
  }

  #closedWith(code: number, error: NeurinoError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fail(error);
    this.#changed({ kind: 'closed', code });
  }

  #changed(change: SessionChange): void {
    if (this.#closed && change.kind !== 'closed') return;
    this.#options.onChange(this, change);
  }
}
