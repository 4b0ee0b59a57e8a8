import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../../protocol/testing/capture-logger.ts';
import type { CorkableStream } from '../../protocol/write-coalescing.ts';
import { MinerConnection } from './miner-connection.ts';
import type { MinerSocket } from './miner-socket.ts';
import { dial, type MinerEndpoint, serveMinerHub } from './testing/ws-loopback.ts';

type TcpSocket = CorkableStream & { readonly writableLength: number };

/** The router's side of a loopback WebSocket (and the TCP socket under it), and what its client receives. */
async function connectedPair(endpoints: MinerEndpoint[]) {
  let accept: (accepted: { socket: MinerSocket; stream: TcpSocket | undefined }) => void = () => undefined;
  const accepted = new Promise<{ socket: MinerSocket; stream: TcpSocket | undefined }>((resolve) => {
    accept = resolve;
  });
  const endpoint = await serveMinerHub({
    handleSocket: (socket, _remoteAddress, stream) => accept({ socket, stream: stream as TcpSocket }),
  });
  endpoints.push(endpoint);
  const client = dial(endpoint.url);
  const messages: string[] = [];
  client.on('message', (data) => messages.push(String(data)));
  const open = new Promise<void>((resolve) => client.on('open', resolve));
  const [{ socket, stream }] = await Promise.all([accepted, open]);
  if (stream === undefined) throw new Error('the server handed over no TCP socket');
  return { socket, stream, messages };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const REASONS = ['one', 'two', 'three'];

describe('MinerConnection', () => {
  const endpoints: MinerEndpoint[] = [];
  afterEach(async () => {
    for (const endpoint of endpoints.splice(0)) await endpoint.close();
  });

  it('holds the frames of one turn and writes them together at its end', async () => {
    const { socket, stream, messages } = await connectedPair(endpoints);
    const connection = new MinerConnection(socket, '127.0.0.1', captureLogger().logger, stream);
    for (const reason of REASONS) expect(connection.send({ type: 'drain', reason })).toBe(true);
    // All three still in the socket's buffer: one write will carry them.
    expect(stream.writableCorked).toBe(1);
    expect(stream.writableLength).toBeGreaterThan(3 * '{"type":"drain"}'.length);
    await until(() => messages.length === 3);
    expect(stream.writableCorked).toBe(0);
    expect(messages.map((frame) => JSON.parse(frame).reason)).toEqual(REASONS);
  });

  it('refuses to send a frame past the limit the miner takes, and keeps the connection', async () => {
    const { socket, messages } = await connectedPair(endpoints);
    const connection = new MinerConnection(socket, '127.0.0.1', captureLogger().logger, undefined, 4096);
    expect(() => connection.send({ type: 'drain', reason: 'x'.repeat(5000) })).toThrow(
      expect.objectContaining({ code: 'payload_too_large' }),
    );
    // Characters of several bytes count as such.
    expect(() => connection.send({ type: 'drain', reason: 'é'.repeat(2100) })).toThrow(/MiB/);
    expect(connection.send({ type: 'drain', reason: 'é'.repeat(1000) })).toBe(true);
    await until(() => messages.length === 1);
    expect(connection.closed).toBe(false);
  });

  it('without the TCP socket, writes each frame as it is sent', async () => {
    const { socket, stream, messages } = await connectedPair(endpoints);
    const connection = new MinerConnection(socket, '127.0.0.1', captureLogger().logger);
    for (const reason of REASONS) connection.send({ type: 'drain', reason });
    expect(stream.writableCorked).toBe(0);
    await until(() => messages.length === 3);
    expect(messages.map((frame) => JSON.parse(frame).reason)).toEqual(REASONS);
  });
});
