import type { Logger } from 'pino';
import {
  decodeMinerMessage,
  encodeMessage,
  fitsInFrame,
  frameMiB,
  MAX_FRAME_BYTES,
  type RawFrame,
} from '../../protocol/codec.ts';
import { FatalError, type NeurinoError } from '../../protocol/errors.ts';
import type { MinerMessage, RouterMessage } from '../../protocol/messages/index.ts';
import { type CorkableStream, coalesceWritesThisTurn } from '../../protocol/write-coalescing.ts';
import { closeReason, type MinerSocket, SOCKET_OPEN } from './miner-socket.ts';

/** Who handles decoded frames: first the handshake, then the session. */
export interface FrameHandler {
  message(message: MinerMessage): void | Promise<void>;
  /** A frame that failed to decode; already logged and counted. */
  badFrame(error: NeurinoError, raw: RawFrame): void;
}

/**
 * One miner's socket: decodes every frame (a bad one is logged and reported, never thrown), encodes what
 * the router sends, watches for silence, and closes once.
 */
export class MinerConnection {
  readonly remoteAddress: string;
  badFrames = 0;
  #handler: FrameHandler | undefined;
  #logger: Logger;
  #closed = false;
  readonly #closeListeners: Array<(code: number) => void> = [];
  #idle: { timer: NodeJS.Timeout; ms: number } | undefined;
  readonly #socket: MinerSocket;
  readonly #stream: CorkableStream | undefined;
  readonly #maxFrameBytes: number;

  /**
   * `stream` is the TCP socket under `socket`: given, the frames sent in one turn leave in one write.
   * `maxFrameBytes`: the largest frame either side takes (a test sets it lower).
   */
  constructor(
    socket: MinerSocket,
    remoteAddress: string,
    logger: Logger,
    stream?: CorkableStream,
    maxFrameBytes = MAX_FRAME_BYTES,
  ) {
    this.#socket = socket;
    this.#stream = stream;
    this.#maxFrameBytes = maxFrameBytes;
    this.remoteAddress = remoteAddress;
    this.#logger = logger;
    socket.on('message', (data) => this.#receive(data));
    socket.on('close', (code) => this.#markClosed(code));
    socket.on('error', (error) => this.#logger.warn({ err: error }, 'miner socket error'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  setHandler(handler: FrameHandler): void {
    this.#handler = handler;
  }

  /** Later log lines carry the node's identity once it is known. */
  setLogger(logger: Logger): void {
    this.#logger = logger;
  }

  onClose(listener: (code: number) => void): void {
    this.#closeListeners.push(listener);
  }

  /**
   * False when the socket is already gone (the frame is dropped). Throws `payload_too_large` for a
   * frame larger than the miner takes (only a job's input can be).
   */
  send(message: RouterMessage): boolean {
    const frame = encodeMessage(message);
    // The miner would close on a frame past its limit: a job that big is refused before any node runs it.
    if (!fitsInFrame(frame, this.#maxFrameBytes)) {
      throw new FatalError('payload_too_large', {
        message: `The job is ${frameMiB(frame)} as a node receives it, more than the ${this.#maxFrameBytes / 1024 / 1024} MiB one message may hold: send less (fewer or shorter inputs, numbers written out)`,
      });
    }
    if (this.#closed || this.#socket.readyState !== SOCKET_OPEN) return false;
    if (this.#stream !== undefined) coalesceWritesThisTurn(this.#stream);
    this.#socket.send(frame, (error) => {
      if (error !== undefined && error !== null) this.#logger.debug({ err: error }, 'send to miner failed');
    });
    return true;
  }

  /** Calls `onIdle` when no frame arrives for `ms`; every frame restarts the clock. */
  watchIdle(ms: number, onIdle: () => void): void {
    if (this.#idle !== undefined) clearTimeout(this.#idle.timer);
    if (this.#closed) return;
    const timer = setTimeout(onIdle, ms);
    timer.unref();
    this.#idle = { timer, ms };
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#socket.close(code, closeReason(reason));
    this.#markClosed(code);
  }

  /** For a peer that stopped answering: no closing handshake to wait for. */
  terminate(code: number): void {
    if (this.#closed) return;
    this.#socket.terminate();
    this.#markClosed(code);
  }

  #receive(data: RawFrame): void {
    if (this.#closed) return;
    if (this.#idle !== undefined) this.#idle.timer.refresh();
    const decoded = decodeMinerMessage(data, { maxBytes: this.#maxFrameBytes });
    const handler = this.#handler;
    if (!decoded.ok) {
      this.badFrames++;
      this.#logger.warn(
        { err: decoded.error, remoteAddress: this.remoteAddress },
        'refused a bad frame from a miner',
      );
      handler?.badFrame(decoded.error, data);
      return;
    }
    try {
      const done = handler?.message(decoded.message);
      if (done instanceof Promise) done.catch((error: unknown) => this.#handlerFailed(error));
    } catch (error) {
      this.#handlerFailed(error);
    }
  }

  #handlerFailed(error: unknown): void {
    this.#logger.error({ err: error }, 'handling a miner frame failed');
  }

  #markClosed(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idle !== undefined) clearTimeout(this.#idle.timer);
    for (const listener of this.#closeListeners.splice(0)) listener(code);
  }
}
