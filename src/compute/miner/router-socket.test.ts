import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type CorkableStream, coalesceWritesThisTurn } from '../../protocol/write-coalescing.ts';
import { dialRouter, routerEndpoint } from './router-socket.ts';

interface TestServer extends NodeJS.EventEmitter {
  address(): AddressInfo;
  close(callback: () => void): void;
  clients: Set<{ terminate(): void }>;
}
const { WebSocketServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (options: { host: string; port: number }) => TestServer;
};

describe('dialRouter', () => {
  it('hands over the TCP socket its frames travel on, so a turn’s frames can leave together', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const received: string[] = [];
    server.on('connection', (peer: NodeJS.EventEmitter) =>
      peer.on('message', (data: Buffer) => received.push(String(data))),
    );
    try {
      const socket = dialRouter(`ws://127.0.0.1:${server.address().port}/v1/miners`);
      let stream: (CorkableStream & { readonly writableLength: number }) | undefined;
      socket.on('upgrade', (response) => {
        stream = response.socket as typeof stream;
      });
      await once(socket as unknown as NodeJS.EventEmitter, 'open');
      if (stream === undefined) throw new Error('no upgrade answer');
      for (const frame of ['one', 'two']) {
        coalesceWritesThisTurn(stream);
        socket.send(frame);
      }
      expect(stream.writableCorked).toBe(1);
      expect(stream.writableLength).toBeGreaterThanOrEqual('onetwo'.length);
      while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(received).toEqual(['one', 'two']);
      socket.close();
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('routerEndpoint', () => {
  it('adds the miner path to a bare host', () => {
    expect(routerEndpoint('ws://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/v1/miners');
    expect(routerEndpoint('ws://127.0.0.1:8080/')).toBe('ws://127.0.0.1:8080/v1/miners');
  });

  it('keeps an explicit path', () => {
    expect(routerEndpoint('wss://router.example/custom/miners')).toBe('wss://router.example/custom/miners');
  });

  it('turns http(s) into ws(s)', () => {
    expect(routerEndpoint('http://localhost:8080')).toBe('ws://localhost:8080/v1/miners');
    expect(routerEndpoint('https://router.example')).toBe('wss://router.example/v1/miners');
  });

  it('refuses other schemes and non-URLs', () => {
    expect(() => routerEndpoint('ftp://router.example')).toThrow(TypeError);
    expect(() => routerEndpoint('router.example:8080')).toThrow(TypeError);
    expect(() => routerEndpoint('')).toThrow(TypeError);
  });
});
