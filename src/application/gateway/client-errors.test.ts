// Requests Node's HTTP parser refuses before any route sees them still get OpenAI-style error JSON with a
// stable code, and a client that stops sending its body is cut off in time; a long answer is not.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { answerText, type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';
import { clientErrorAnswer } from './client-errors.ts';

const REQUEST_TIMEOUT_MS = 400;
let h: GatewayHarness;
let key: string;

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { requestTimeoutMs: REQUEST_TIMEOUT_MS } });
  key = await h.key(devAccount(5).address);
  // An answer that takes longer than a request may take to arrive.
  await h.peer(0, async (peer, assign) => {
    await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS * 2));
    await answerText(peer, assign, ['late ', 'but whole']);
  });
});

afterAll(async () => {
  await h?.close();
});

/** Writes `parts` to a fresh connection (waiting `pauseMs` after each) and reads until the server closes. */
function rawExchange(
  parts: string[],
  pauseMs = 0,
): Promise<{ status: number; body: unknown; closed: boolean }> {
  const { hostname, port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, async () => {
      for (const part of parts) {
        if (socket.destroyed) break;
        socket.write(part);
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
    let raw = '';
    socket.on('data', (chunk) => {
      raw += chunk.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body: JSON.parse(body), closed: true });
    });
  });
}

describe('requests the HTTP parser refuses', () => {
  it('answer a malformed request line with 400 invalid_request', async () => {
    const answer = await rawExchange(['NOT A REQUEST\r\n\r\n']);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: {
        message: expect.stringMatching(/^Malformed HTTP request \(HPE_[A-Z_]+\)$/),
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: null,
      },
    });
  });

  it('answer headers past the limit with 431 headers_too_large', async () => {
    const answer = await rawExchange([
      `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    ]);
    expect(answer.status).toBe(431);
    expect(answer.body).toMatchObject({
      error: { code: 'headers_too_large', type: 'invalid_request_error' },
    });
  });

  it('answer a body that stops arriving with 408 request_timeout, in time', async () => {
    const head =
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Authorization: Bearer ${key}\r\nContent-Length: 1000\r\n\r\n`;
    const started = Date.now();
    const answer = await rawExchange([head, '{"model":'], 10);
    expect(answer.status).toBe(408);
    expect(answer.body).toMatchObject({
      error: {
        code: 'request_timeout',
        type: 'timeout_error',
        message: 'The request was not received within 0.4 s',
      },
    });
    // Cut off near its time, not after Node's default 30 s between checks.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('leave an answer longer than the request timeout whole', async () => {
    const response = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-llm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('late ');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});

describe('clientErrorAnswer', () => {
  it('names the parser code of anything else as a malformed request', () => {
    expect(clientErrorAnswer('HPE_INVALID_CONTENT_LENGTH', 1_000)).toMatchObject({
      code: 'invalid_request',
      status: 400,
      message: 'Malformed HTTP request (HPE_INVALID_CONTENT_LENGTH)',
    });
    expect(clientErrorAnswer(undefined, 1_000).message).toBe('Malformed HTTP request');
    expect(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT', 120_000)).toMatchObject({
      code: 'request_timeout',
      status: 408,
      retryable: true,
      message: 'The request was not received within 120 s',
    });
  });
});
