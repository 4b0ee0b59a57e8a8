// The router's side of the miner protocol, small and faithful, for miner tests: a real `ws` server that
// checks the challenge answer (checkChallengeAnswer) and every result's receipt (checkJobResult).
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Address, Hex } from 'viem';
import {
  decodeMinerMessage,
  encodeMessage,
  MAX_FRAME_BYTES,
  type RawFrame,
} from '../../../protocol/codec.ts';
import type { ProtocolDomain } from '../../../protocol/eip712-domain.ts';
import type { HandshakeRefusalCode } from '../../../protocol/error-codes.ts';
import type { NeurinoError } from '../../../protocol/errors.ts';
import { checkChallengeAnswer, createChallenge } from '../../../protocol/handshake-auth.ts';
import { attemptIdFor, newJobId } from '../../../protocol/ids.ts';
import { type CheckedResult, checkJobResult, observedAttempt } from '../../../protocol/job-receipt.ts';
import type {
  Capabilities,
  JobAssign,
  JobChunk,
  JobError,
  JobResult,
  MinerMessage,
  RouterMessage,
} from '../../../protocol/messages/index.ts';
import { negotiateProtocolVersion } from '../../../protocol/version.ts';

/** A `job.chunk` as the miner sent it, without its framing. */
export type StreamedChunk = Omit<JobChunk, 'type' | 'attemptId'>;

interface ServerSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: RawFrame) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

interface Server {
  address(): AddressInfo;
  clients: Set<ServerSocket>;
  on(event: 'connection', listener: (socket: ServerSocket) => void): unknown;
  on(event: 'listening', listener: () => void): unknown;
  close(callback: () => void): void;
}

// `ws` ships no type declarations: the server constructor, as used here.
const { WebSocketServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (options: { host: string; port: number; path: string; maxPayload: number }) => Server;
};

export type Admission = { ok: true } | { ok: false; code: HandshakeRefusalCode; reason: string };

export interface TestRouterOptions {
  readonly domain: ProtocolDomain;
  readonly routerId?: string;
  readonly heartbeatMs?: number;
  /** Decides after the signature check; admits every node by default. */
  readonly admit?: (node: Address) => Admission | Promise<Admission>;
}

export interface AttemptOutcome {
  readonly assign: JobAssign;
  readonly accepted: boolean;
  readonly chunks: StreamedChunk[];
  readonly result?: JobResult;
  /** checkJobResult's verdict on `result`: the receipt when the node's signature holds. */
  readonly checked?: CheckedResult;
  readonly error?: JobError;
}

interface PendingAttempt {
  assign: JobAssign;
  /** performance.now() when the assignment was sent: the node may meter no more GPU time than since. */
  sentAt: number;
  accepted: boolean;
  chunks: StreamedChunk[];
  resolve(outcome: AttemptOutcome): void;
}

export class TestConnection {
  node: Address | undefined;
  sessionId: string | undefined;
  refusedWith: Admission | undefined;
  readonly received: MinerMessage[] = [];
  /** Frames from the miner that failed to decode: a correct miner sends none. */
  readonly badFrames: NeurinoError[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly attempts = new Map<Hex, PendingAttempt>();
  private waiters: Array<{ test: (m: MinerMessage) => boolean; resolve(m: MinerMessage): void }> = [];

  constructor(
    readonly socket: ServerSocket,
    private readonly router: TestRouter,
  ) {
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
    socket.on('error', () => undefined);
    socket.on('message', (data) => this.receive(data));
  }

  get capabilities(): Capabilities | undefined {
    return this.received.findLast((m): m is Capabilities => m.type === 'capabilities');
  }

  send(message: RouterMessage): void {
    this.socket.send(encodeMessage(message));
  }

  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** The next frame (already received or still to come) of `type` that passes `test`. */
  waitFor<T extends MinerMessage['type']>(
    type: T,
    test: (m: Extract<MinerMessage, { type: T }>) => boolean = () => true,
    from = 0,
  ): Promise<Extract<MinerMessage, { type: T }>> {
    const matches = (m: MinerMessage): m is Extract<MinerMessage, { type: T }> =>
      m.type === type && test(m as Extract<MinerMessage, { type: T }>);
    const seen = this.received.slice(from).find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => {
      this.waiters.push({ test: matches, resolve: (m) => resolve(m as Extract<MinerMessage, { type: T }>) });
    });
  }

  /** Sends a `job.assign` (defaults filled in) and resolves when the miner answers it with a result or error. */
  assign(job: Partial<JobAssign> & Pick<JobAssign, 'podId' | 'kind' | 'input'>): Promise<AttemptOutcome> {
    const jobId = job.jobId ?? newJobId();
    const assign: JobAssign = {
      type: 'job.assign',
      jobId,
      attemptId: job.attemptId ?? attemptIdFor(jobId, 0),
      stream: false,
      deadlineAt: Date.now() + 60_000,
      payer: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
      pricePerUnit: 1_000_000_000n,
      ...job,
    };
    return new Promise((resolve) => {
      const sentAt = performance.now();
      this.attempts.set(assign.attemptId, { assign, sentAt, accepted: false, chunks: [], resolve });
      this.send(assign);
    });
  }

  /** Drops the TCP connection without a close frame, as a crashed router would. */
  drop(): void {
    this.socket.terminate();
  }

  private receive(data: RawFrame): void {
    const decoded = decodeMinerMessage(data);
    if (!decoded.ok) {
      this.badFrames.push(decoded.error);
      return;
    }
    const message = decoded.message;
    this.received.push(message);
    void this.react(message);
    for (const waiter of [...this.waiters]) {
      if (!waiter.test(message)) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  }

  private async react(message: MinerMessage): Promise<void> {
    switch (message.type) {
      case 'hello':
        return this.challenge(message.node, message.version, message.minVersion);
      case 'challenge.answer':
        return this.checkAnswer(message.signature);
      case 'job.accepted':
      case 'job.chunk': {
        const attempt = this.attempts.get(message.attemptId);
        if (attempt === undefined) return;
        if (message.type === 'job.accepted') attempt.accepted = true;
        else {
          const { type: _, attemptId: __, ...chunk } = message;
          attempt.chunks.push(chunk);
        }
        return;
      }
      case 'job.result':
      case 'job.error': {
        const attempt = this.attempts.get(message.attemptId);
        if (attempt === undefined) return;
        this.attempts.delete(message.attemptId);
        const { assign, accepted, chunks } = attempt;
        if (message.type === 'job.error')
          return attempt.resolve({ assign, accepted, chunks, error: message });
        const observed = observedAttempt(attempt.sentAt, performance.now(), this.capabilities);
        const checked = await checkJobResult(
          this.router.domain,
          assign,
          message,
          this.node as Address,
          observed,
        );
        return attempt.resolve({ assign, accepted, chunks, result: message, checked });
      }
      default:
        return;
    }
  }

  private pendingChallenge: ReturnType<typeof createChallenge> | undefined;

  private challenge(node: Address, version: number, minVersion: number | undefined): void {
    if (negotiateProtocolVersion(version, minVersion) === undefined) {
      this.refuse({ ok: false, code: 'unsupported_version', reason: `version ${version}` });
      return;
    }
    this.node = node;
    this.pendingChallenge = createChallenge(this.router.routerId);
    this.send(this.pendingChallenge);
  }

  private async checkAnswer(signature: Hex): Promise<void> {
    const challenge = this.pendingChallenge;
    if (challenge === undefined || this.node === undefined) return;
    const error = await checkChallengeAnswer(this.router.domain, challenge, this.node, signature);
    if (error !== undefined) {
      return this.refuse({ ok: false, code: error.code as HandshakeRefusalCode, reason: error.message });
    }
    const admission = await this.router.admit(this.node);
    if (!admission.ok) return this.refuse(admission);
    this.sessionId = `ses_${this.router.admitted.length}`;
    this.send({
      type: 'welcome',
      version: 1,
      sessionId: this.sessionId,
      heartbeatMs: this.router.heartbeatMs,
    });
    this.router.welcomed(this);
  }

  private refuse(refusal: Admission & { ok: false }): void {
    this.refusedWith = refusal;
    this.send({ type: 'refused', code: refusal.code, reason: refusal.reason });
    this.socket.close(1008, 'refused');
  }
}

export class TestRouter {
  readonly domain: ProtocolDomain;
  readonly routerId: string;
  readonly heartbeatMs: number;
  readonly connections: TestConnection[] = [];
  private admission: NonNullable<TestRouterOptions['admit']>;
  /** Connections that got `welcome`, in order. */
  readonly admitted: TestConnection[] = [];
  private welcomeWaiters: Array<{ index: number; resolve(connection: TestConnection): void }> = [];

  private constructor(
    private readonly server: Server,
    options: TestRouterOptions,
  ) {
    this.domain = options.domain;
    this.routerId = options.routerId ?? 'test-router';
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.admission = options.admit ?? (() => ({ ok: true }));
    server.on('connection', (socket) => this.connections.push(new TestConnection(socket, this)));
  }

  static async start(options: TestRouterOptions & { port?: number }): Promise<TestRouter> {
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: options.port ?? 0,
      path: '/v1/miners',
      maxPayload: MAX_FRAME_BYTES,
    });
    await new Promise<void>((resolve) => server.on('listening', resolve));
    return new TestRouter(server, options);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.server.address().port}/v1/miners`;
  }

  get port(): number {
    return this.server.address().port;
  }

  admit(node: Address): Admission | Promise<Admission> {
    return this.admission(node);
  }

  setAdmission(admit: NonNullable<TestRouterOptions['admit']>): void {
    this.admission = admit;
  }

  /** The n-th admitted connection (0-based), when it arrives. */
  welcomedConnection(index: number): Promise<TestConnection> {
    const found = this.admitted[index];
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.welcomeWaiters.push({ index, resolve }));
  }

  /** Called by a connection once it sent `welcome`. */
  welcomed(connection: TestConnection): void {
    this.admitted.push(connection);
    const index = this.admitted.length - 1;
    for (const waiter of this.welcomeWaiters.filter((w) => w.index === index)) waiter.resolve(connection);
    this.welcomeWaiters = this.welcomeWaiters.filter((w) => w.index !== index);
  }

  /** Closes every connection (like a router shutting down) and the server. */
  async close(): Promise<void> {
    for (const socket of this.server.clients) socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
