// GET /v1/receipts/:id over real HTTP, with miners signing receipts over WebSocket: the caller reads the
// receipt of what it paid for and checks the node's signature itself; nobody else's, and no failed job's.
// (The router's attestation and a settled receipt are checked end to end in test/e2e/network.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { checkReceiptAudit, parseReceiptAudit } from '../../protocol/receipt-audit.ts';
import { answerText, type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(5).address;
const stranger = devAccount(6).address;
let h: GatewayHarness;
let key: string;
let otherKey: string;

beforeAll(async () => {
  h = await startGatewayHarness({ suspendMs: 1 });
  key = await h.key(developer);
  otherKey = await h.key(stranger);
  await h.peer(0, async (peer, assign) => {
    if (assign.kind !== 'embeddings') return answerText(peer, assign, ['Hel', 'lo']);
    await peer.result(assign, { embeddings: [[0.6, 0.8]] }, { usage: { inputTokens: 1, outputTokens: 0 } });
  });
});

afterAll(async () => {
  await h?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
type Json = any;

async function call(method: 'GET' | 'POST', path: string, apiKey = key, body?: unknown) {
  const response = await fetch(`${h.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
}

describe('GET /v1/receipts/:id', () => {
  it('gives the payer the receipt of a chat completion, signed by the node in the stated domain', async () => {
    const chat = await call('POST', '/v1/chat/completions', key, {
      model: 'test-llm',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(chat.status).toBe(200);
    await h.metering.flush();
    const { status, body } = await call('GET', `/v1/receipts/${chat.body.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      object: 'receipt',
      id: chat.body.id,
      receipt: { payer: developer, podId: h.podId, outputTokens: chat.body.usage.completion_tokens },
      attestation: null, // this harness's router stores receipts without a key
      router_signature: null,
      settlement: { status: 'unbatched', batch: null, settled_at: null },
    });
    const parsed = parseReceiptAudit(body);
    if (!parsed.ok) throw parsed.error;
    const audit = parsed.value;
    expect(audit.charged).toBeGreaterThan(0n);
    expect(await checkReceiptAudit(audit, developer)).toEqual({
      hashMatches: true,
      nodeSigned: true,
      attested: undefined,
      inBatch: undefined,
    });
    // The same receipt with a price changed is signed by nobody, and hashes to another leaf.
    const inflated = { ...audit, receipt: { ...audit.receipt, price: audit.receipt.price + 1n } };
    expect(await checkReceiptAudit(inflated, developer)).toMatchObject({
      hashMatches: false,
      nodeSigned: false,
    });
  });

  it('finds an embeddings request by its x-neurino-job-id header', async () => {
    const embedded = await call('POST', '/v1/embeddings', key, { model: 'test-llm', input: 'x' });
    expect(embedded.status).toBe(200);
    const id = embedded.headers.get('x-neurino-job-id');
    expect(id).toMatch(/^job_/);
    await h.metering.flush();
    const { status, body } = await call('GET', `/v1/receipts/${id}`);
    expect(status).toBe(200);
    expect(body.receipt.payer).toBe(developer);
  });

  it('answers unknown, malformed, foreign and failed jobs alike with 404 receipt_not_found', async () => {
    const chat = await call('POST', '/v1/chat/completions', key, {
      model: 'test-llm',
      messages: [{ role: 'user', content: 'hi' }],
    });
    await h.metering.flush();
    const refused = await call('POST', '/v1/jobs', key, { pod: 'test-llm', input: {} });
    expect(refused.status).toBe(400);
    const failedId = refused.headers.get('x-neurino-job-id');
    for (const [id, apiKey] of [
      [chat.body.id, otherKey],
      ['chatcmpl-000000000000000000000000', key],
      ['req_000000000000000000000000', key],
      ['not-an-id', key],
      [failedId, key],
    ] as const) {
      const { status, body } = await call('GET', `/v1/receipts/${id}`, apiKey);
      expect(status).toBe(404);
      expect(body.error).toMatchObject({ code: 'receipt_not_found', param: 'id' });
    }
    expect((await call('GET', `/v1/receipts/${chat.body.id}`, 'nrn_wrong')).status).toBe(401);
  });
});
