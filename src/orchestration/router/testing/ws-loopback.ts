// `ws` on loopback for tests: a server handing sockets to a MinerHub, and the client socket miner peers
// use. `ws` ships no type declarations, so the few members used are typed here.
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { MAX_FRAME_BYTES } from '../../../protocol/codec.ts';
import type { MinerHub } from '../miner-hub.ts';
import type { MinerSocket } from '../miner-socket.ts';

export interface ClientSocket extends MinerSocket {
  on(event: 'open', listener: () => void): unknown;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

interface ServerSocket {
  on(event: 'connection', listener: (socket: MinerSocket, request: IncomingMessage) => void): unknown;
  on(event: 'listening', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  address(): AddressInfo | string;
  close(callback: () => void): void;
  clients: Set<MinerSocket>;
}

const ws = createRequire(import.meta.url)('ws') as {
  WebSocket: new (url: string, options?: { maxPayload?: number }) => ClientSocket;
  WebSocketServer: new (options: { host: string; port: number; maxPayload: number }) => ServerSocket;
};

export function dial(url: string): ClientSocket {
  return new ws.WebSocket(url, { maxPayload: MAX_FRAME_BYTES });
}

export interface MinerEndpoint {
  url: string;
  close(): Promise<void>;
}

/** A WebSocket server on 127.0.0.1 (random port) that hands every connection to the hub. */
export function serveMinerHub(hub: Pick<MinerHub, 'handleSocket'>): Promise<MinerEndpoint> {
  const server = new ws.WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_FRAME_BYTES });
  server.on('connection', (socket, request) =>
    hub.handleSocket(socket, request.socket.remoteAddress ?? 'unknown', request.socket),
  );
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.on('listening', () => {
      const address = server.address();
      const port = typeof address === 'string' ? 0 : address.port;
      resolve({
        url: `ws://127.0.0.1:${port}/v1/miners`,
        close: () =>
          new Promise<void>((done) => {
            for (const client of server.clients) client.terminate();
            server.close(() => done());
          }),
      });
    });
  });
}
