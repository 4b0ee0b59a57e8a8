// `neurino receipt`'s check against a real gateway (miners signing over WebSocket), and against a gateway
// that lies about what it charged: the check trusts the signatures, not the answer. The chain side (router
// role, settled root) runs end to end in test/e2e/network.test.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/free-port.ts';
import {
  answerText,
  type GatewayHarness,
  startGatewayHarness,
} from '../application/testing/gateway-harness.ts';
import { devAccount } from '../chain/dev-accounts.ts';
import { checkReceipt } from './receipt-check.ts';

const developer = devAccount(5).address;
let h: GatewayHarness;
let key: string;
let chatId: string;
let liar: Server;
let liarUrl: string;

beforeAll(async () => {
  h = await startGatewayHarness({ suspendMs: 1 });
  key = await h.key(developer);
  await h.peer(0, (peer, assign) => answerText(peer, assign, ['Hel', 'lo']));
  const response = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'test-llm', messages: [{ role: 'user', content: 'hi' }] }),
  });
  chatId = ((await response.json()) as { id: string }).id;
  await h.metering.flush();
  // A gateway that relays the real answer with the price raised tenfold.
  liar = createServer(async (request, reply) => {
    const real = await fetch(`${h.url}${request.url}`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await real.json()) as { receipt: { price: string } };
    body.receipt.price = (BigInt(body.receipt.price) * 10n).toString();
    reply.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
  liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => liar?.close(resolve));
  await h?.close();
});

describe('neurino receipt', () => {
  it('checks a true receipt and says what it could not check', async () => {
    const report = await checkReceipt(chatId, { gatewayUrl: `${h.url}/`, apiKey: key });
    expect(report.ok).toBe(true);
    expect(report.audit.id).toBe(chatId);
    const text = report.lines.join('\n');
    expect(text).toContain(`receipt of ${chatId}`);
    expect(text).toMatch(/✓ the receipt hashes to 0x[0-9a-f]{64}/);
    expect(text).toMatch(/✓ signed by its node 0x[0-9a-fA-F]{40}/);
    expect(text).toContain('· not attested: the router stored it without a key');
    expect(text).toContain('· the chain was not asked');
    expect(text).toContain('· not in a settlement batch yet');
    expect(text).not.toContain('✗');
  });

  it('catches a gateway that changed the price: the node never signed that receipt', async () => {
    const report = await checkReceipt(chatId, { gatewayUrl: liarUrl, apiKey: key });
    expect(report.ok).toBe(false);
    const text = report.lines.join('\n');
    expect(text).toMatch(/✗ the receipt hashes to/);
    expect(text).toMatch(/✗ signed by its node/);
  });

  it('says what the gateway refused, and when an answer is not a receipt', async () => {
    await expect(
      checkReceipt('chatcmpl-000000000000000000000000', { gatewayUrl: h.url, apiKey: key }),
    ).rejects.toThrow(/the gateway answered 404: No receipt for "chatcmpl-0{24}": no job of yours/);
    await expect(checkReceipt(chatId, { gatewayUrl: h.url, apiKey: 'nrn_wrong' })).rejects.toThrow(
      /the gateway answered 401/,
    );
    await expect(checkReceipt(chatId, { gatewayUrl: 'ftp://x', apiKey: key })).rejects.toThrow(
      /bad gateway URL "ftp:\/\/x"/,
    );
    const closed = `http://127.0.0.1:${await freePort()}`;
    await expect(checkReceipt(chatId, { gatewayUrl: closed, apiKey: key })).rejects.toThrow(
      new RegExp(`cannot reach the gateway at ${closed}: .*ECONNREFUSED`),
    );
    await expect(checkReceipt(chatId, { gatewayUrl: `${h.url}/v1/models#`, apiKey: key })).rejects.toThrow(
      /not a receipt/,
    );
  });
});
