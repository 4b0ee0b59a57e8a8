// A request that reaches the router while it closes, on a connection kept open by a request still being
// received, is refused in the OpenAI error shape (503 service_unavailable), not with Fastify's own body.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

let h: GatewayHarness;
let key: string;

beforeAll(async () => {
  h = await startGatewayHarness();
  key = await h.key(devAccount(5).address);
});

afterAll(async () => {
  await h?.close();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a router closing', () => {
  it('refuses the next request on a kept-alive connection with OpenAI-style 503', async () => {
    const { hostname, port } = new URL(h.url);
    const body = JSON.stringify({ model: 'test-llm', messages: [{ role: 'user', content: 'hi' }] });
    const auth = `Authorization: Bearer ${key}\r\nHost: x\r\n`;
    const socket = connect(Number(port), hostname);
    let raw = '';
    socket.on('data', (chunk) => {
      raw += chunk.toString();
    });
    const ended = new Promise((resolve) => socket.on('close', resolve));
    // A first request whose body is still arriving when the router starts to close...
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\n${auth}Content-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await pause(100);
    const drained = h.gateway.drain();
    const closed = h.gateway.app.close();
    await pause(50);
    // ...then the rest of it, and a second request on the same connection.
    socket.write(`${body.slice(10)}GET /v1/models HTTP/1.1\r\n${auth}\r\n`);
    await Promise.race([ended, pause(5_000)]);
    socket.destroy();
    await Promise.all([drained, closed]);
    const answers = raw.split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    const second = answers[1] ?? '';
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4))).toMatchObject({
      error: { code: 'service_unavailable', type: 'server_error', message: 'Router is shutting down' },
    });
  });
});
