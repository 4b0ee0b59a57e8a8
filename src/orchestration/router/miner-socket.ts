/**
 * The part of a `ws` WebSocket the router uses. Structural, so the hub takes sockets from `ws` directly or
 * through @fastify/websocket, and never depends on a particular server.
 */
export interface MinerSocket {
  readonly readyState: number;
  send(data: string, callback?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  /** Drops the TCP connection at once: for peers that stopped answering. */
  terminate(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** WebSocket readyState of an open socket (same value in `ws` and browsers). */
export const SOCKET_OPEN = 1;

/** Close codes the router uses; 4xxx are application-defined (RFC 6455 section 7.4.2). */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  /** The router is too busy to take this connection now (RFC 6455's "Try Again Later"). */
  tryAgainLater: 1013,
  /** The same node completed a newer handshake: the older connection is stale. */
  replaced: 4000,
  /** No frame within the allowed heartbeat interval. */
  heartbeatTimeout: 4001,
  /** The node is no longer admitted (jailed, unstaked) while connected. */
  revoked: 4002,
} as const;

/** Close reasons are limited to 123 bytes by the protocol; keep them short and ASCII. */
export function closeReason(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
}
