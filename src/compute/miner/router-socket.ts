// The client WebSocket to the router (`ws`), seen through the few members the session uses.
import { createRequire } from 'node:module';
import { MAX_FRAME_BYTES } from '../../protocol/codec.ts';
import type { CorkableStream } from '../../protocol/write-coalescing.ts';

export interface RouterSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Drops the connection at once: for a router that stopped answering pings. */
  terminate(): void;
  ping(): void;
  /** The HTTP answer that upgraded the connection; its `socket` is the TCP socket the frames travel on. */
  on(event: 'upgrade', listener: (response: { socket: CorkableStream }) => void): unknown;
  on(event: 'open', listener: () => void): unknown;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'pong', listener: () => void): unknown;
}

export const SOCKET_OPEN = 1;

interface WsClientOptions {
  maxPayload: number;
  handshakeTimeout: number;
  perMessageDeflate: boolean;
}

// `ws` ships no type declarations (and @types/ws is not installed): the constructor, as used here.
const { WebSocket } = createRequire(import.meta.url)('ws') as {
  WebSocket: new (url: string, options: WsClientOptions) => RouterSocket;
};

export type DialRouter = (url: string) => RouterSocket;

/** Dials out; the node never listens on a port. Frames are capped as the protocol caps them. */
export const dialRouter: DialRouter = (url) =>
  new WebSocket(url, { maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000, perMessageDeflate: false });

/**
 * The miner endpoint for what an operator typed: `ws://host:port` gets the `/v1/miners` path, http(s)
 * becomes ws(s). Throws a TypeError for anything else.
 */
export function routerEndpoint(text: string): string {
  const url = new URL(text);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new TypeError(`router URL must be ws://, wss://, http:// or https://, got ${url.protocol}`);
  }
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/v1/miners';
  return url.toString();
}
