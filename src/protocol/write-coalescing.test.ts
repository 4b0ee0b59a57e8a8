import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type CorkableStream, coalesceWritesThisTurn } from './write-coalescing.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A loopback TCP pair; `chunks` collects what the server side reads, one entry per read. */
async function loopbackPair(): Promise<{ client: Socket; chunks: string[]; server: Server }> {
  const chunks: string[] = [];
  const server = createServer((peer) => peer.on('data', (chunk) => chunks.push(chunk.toString('utf8'))));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new Socket();
  client.connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  return { client, chunks, server };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('coalesceWritesThisTurn', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('sends the writes of one turn in one piece, at the turn’s end', async () => {
    const { client, chunks, server } = await loopbackPair();
    cleanups.push(() => {
      client.destroy();
      server.close();
    });
    for (const frame of ['one;', 'two;', 'three;']) {
      coalesceWritesThisTurn(client);
      client.write(frame);
    }
    expect(client.writableCorked).toBe(1);
    expect(client.writableLength).toBe('one;two;three;'.length);
    await nextTurn();
    expect(client.writableCorked).toBe(0);
    await until(() => chunks.join('').length === 'one;two;three;'.length);
    expect(chunks).toEqual(['one;two;three;']);
  });

  it('corks again in a later turn', async () => {
    const { client, chunks, server } = await loopbackPair();
    cleanups.push(() => {
      client.destroy();
      server.close();
    });
    coalesceWritesThisTurn(client);
    client.write('first;');
    await nextTurn();
    await until(() => chunks.length === 1);
    coalesceWritesThisTurn(client);
    client.write('second;');
    expect(client.writableCorked).toBe(1);
    await nextTurn();
    await until(() => chunks.length === 2);
    expect(chunks).toEqual(['first;', 'second;']);
  });

  it('leaves a destroyed stream alone', () => {
    const calls: string[] = [];
    const stream: CorkableStream = {
      cork: () => calls.push('cork'),
      uncork: () => calls.push('uncork'),
      writableCorked: 0,
      destroyed: true,
    };
    coalesceWritesThisTurn(stream);
    expect(calls).toEqual([]);
  });

  it('does not cork a stream someone else holds corked', async () => {
    const calls: string[] = [];
    const stream: CorkableStream = {
      cork: () => calls.push('cork'),
      uncork: () => calls.push('uncork'),
      writableCorked: 1,
      destroyed: false,
    };
    coalesceWritesThisTurn(stream);
    await nextTurn();
    expect(calls).toEqual([]);
  });
});
