// Every refusal of the gateway, through Fastify's inject: status, OpenAI-shaped body, stable code, and
// that a refused or failed request leaves nothing charged and nothing held.
import { gzipSync } from 'node:zlib';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { ReceiptFilter } from '../../orchestration/metering/credit-ledger.ts';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(5).address;
const broke = devAccount(6).address;
let h: GatewayHarness;
let key: string;
let brokeKey: string;

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { bodyLimitBytes: 64 * 1024 } });
  key = await h.key(developer);
  brokeKey = await h.key(broke, 0n);
});

afterAll(async () => {
  await h?.close();
});

const chatBody = { model: 'test-llm', messages: [{ role: 'user', content: 'hi' }] };

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return h.gateway.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

/** Credits the router still holds for the payer's jobs (none once every job has ended). */
const held = (payer: Address) => h.metering.leases.lease(payer)?.held ?? 0n;
/** Stored receipts, once everything metered so far has reached the store. */
async function storedReceipts(filter: ReceiptFilter) {
  await h.metering.flush();
  return h.ledger.receiptsFor(filter);
}

function expectError(
  response: { statusCode: number; json(): unknown; headers: Record<string, unknown> },
  status: number,
  code: string,
  param?: string | null,
) {
  expect(response.statusCode).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/json/);
  const body = response.json() as { error: { code: string; type: string; message: string; param: unknown } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(typeof body.error.type).toBe('string');
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body.error;
}

describe('authentication', () => {
  it('refuses a request without a key (401 missing_api_key)', async () => {
    const response = await h.gateway.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody,
    });
    expectError(response, 401, 'missing_api_key');
  });

  it('refuses an unknown, malformed or revoked key (401 invalid_api_key)', async () => {
    expectError(
      await post('/v1/chat/completions', chatBody, { authorization: 'Bearer nrn_wrong' }),
      401,
      'invalid_api_key',
    );
    expectError(
      await post('/v1/chat/completions', chatBody, { authorization: `Basic ${key}` }),
      401,
      'invalid_api_key',
    );
    expectError(
      await post('/v1/chat/completions', chatBody, { authorization: `Bearer ${'x'.repeat(5000)}` }),
      401,
      'invalid_api_key',
    );
    const revoked = await h.apiKeys.create({ account: developer });
    await h.apiKeys.revoke(revoked.id);
    expectError(
      await post('/v1/chat/completions', chatBody, { authorization: `Bearer ${revoked.key}` }),
      401,
      'invalid_api_key',
    );
  });

  it('checks the key before the body, and on every API route', async () => {
    const noKey = { authorization: '' };
    expectError(await post('/v1/chat/completions', 'not json', noKey), 401, 'missing_api_key');
    for (const url of ['/v1/models', '/v1/models/test-llm', '/v1/jobs/job_000000000000000000000000']) {
      expectError(await h.gateway.app.inject({ method: 'GET', url }), 401, 'missing_api_key');
    }
    for (const url of ['/v1/completions', '/v1/embeddings', '/v1/jobs']) {
      expectError(await h.gateway.app.inject({ method: 'POST', url, payload: {} }), 401, 'missing_api_key');
    }
  });

  it('accepts the scheme in any case and never echoes the key', async () => {
    const response = await post('/v1/models', {}, { authorization: `bearer ${key}` });
    // POST on a GET route: the route does not exist, but the answer must not contain the key.
    expect(response.body).not.toContain(key);
    const models = await h.gateway.app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `bearer ${key}` },
    });
    expect(models.statusCode).toBe(200);
  });
});

describe('malformed requests', () => {
  it('names the missing or wrong field (400 invalid_request with param)', async () => {
    expectError(
      await post('/v1/chat/completions', { model: 'test-llm' }),
      400,
      'invalid_request',
      'messages',
    );
    const wrongContent = { model: 'test-llm', messages: [{ role: 'user', content: 42 }] };
    expectError(
      await post('/v1/chat/completions', wrongContent),
      400,
      'invalid_request',
      'messages[0].content',
    );
    expectError(
      await post('/v1/chat/completions', { ...chatBody, temperature: 9 }),
      400,
      'invalid_request',
      'temperature',
    );
    expectError(
      await post('/v1/chat/completions', { messages: chatBody.messages }),
      400,
      'invalid_request',
      'model',
    );
    expectError(await post('/v1/embeddings', { model: 'test-llm' }), 400, 'invalid_request', 'input');
    expectError(
      await post('/v1/completions', { model: 'test-llm', prompt: 7 }),
      400,
      'invalid_request',
      'prompt',
    );
    // As OpenAI's: options of a stream without one.
    expectError(
      await post('/v1/chat/completions', { ...chatBody, stream_options: { include_usage: true } }),
      400,
      'invalid_request',
      'stream_options',
    );
  });

  it('refuses what it does not support with unsupported_parameter', async () => {
    const audio = { ...chatBody, audio: { voice: 'alloy', format: 'wav' } };
    expectError(await post('/v1/chat/completions', audio), 400, 'unsupported_parameter', 'audio');
    const logitBias = { ...chatBody, logit_bias: { x: 5 } };
    expectError(await post('/v1/chat/completions', logitBias), 400, 'invalid_request', 'logit_bias.x');
  });

  it('answers bodies that are not JSON objects with 400', async () => {
    expectError(await post('/v1/chat/completions', '{"model": '), 400, 'invalid_request');
    expectError(await post('/v1/chat/completions', ''), 400, 'invalid_request');
    expectError(await post('/v1/chat/completions', '[]'), 400, 'invalid_request');
    expectError(await post('/v1/chat/completions', 'null'), 400, 'invalid_request');
  });

  it('refuses other content types with 415 and oversized bodies with 413', async () => {
    const text = await post('/v1/chat/completions', JSON.stringify(chatBody), {
      'content-type': 'text/plain',
    });
    expectError(text, 415, 'unsupported_media_type', 'content-type');
    const form = await post('/v1/chat/completions', 'a=b', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expectError(form, 415, 'unsupported_media_type');
    const huge = { ...chatBody, messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] };
    expectError(await post('/v1/chat/completions', huge), 413, 'payload_too_large');
    const gzipped = await post('/v1/chat/completions', gzipSync(JSON.stringify(chatBody)), {
      'content-encoding': 'gzip',
    });
    const error = expectError(gzipped, 415, 'unsupported_media_type', 'content-encoding');
    expect(error.message).toMatch(/Content-Encoding "gzip" is not supported/);
    const identity = await post(
      '/v1/chat/completions',
      { ...chatBody, model: 'gpt-9' },
      {
        'content-encoding': 'identity',
      },
    );
    expectError(identity, 404, 'model_not_found');
  });

  it('drops a __proto__ or constructor.prototype key instead of calling valid JSON invalid', async () => {
    const body = `{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}, "model": "gpt-9",
      "messages": [{"role": "user", "content": "x"}]}`;
    expectError(await post('/v1/chat/completions', body), 404, 'model_not_found');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers unknown routes with 404 route_not_found, with or without a key', async () => {
    const error = expectError(await post('/v1/chat/completion', chatBody), 404, 'route_not_found');
    expect(error.message).toContain('/v1/chat/completion');
    expectError(await h.gateway.app.inject({ method: 'GET', url: '/nope?x=1' }), 404, 'route_not_found');
    expectError(await h.gateway.app.inject({ method: 'DELETE', url: '/v1/models' }), 404, 'route_not_found');
  });

  it('answers a URL its router cannot read, or one holding %00, in our shape (400 invalid_request)', async () => {
    const get = (url: string) =>
      h.gateway.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    const tooLong = await get(`/v1/responses/resp_${'A'.repeat(200)}`);
    expect(tooLong.headers['x-request-id']).toMatch(/^req_/);
    const long = expectError(tooLong, 400, 'invalid_request');
    expect(long.message).toContain('longer than 100 characters');
    // A percent-encoding that is not UTF-8.
    expectError(await get('/v1/responses/%E0%A4%A'), 400, 'invalid_request');
    for (const url of ['/v1/responses/resp_%00', '/v1/jobs?after=%00', '/v1/conversations/%00/items']) {
      expect(expectError(await get(url), 400, 'invalid_request').message).toContain('%00');
    }
    // An id up to the limit is looked up as usual.
    expectError(await get(`/v1/responses/resp_${'A'.repeat(95)}`), 404, 'response_not_found');
  });

  it('refuses ids no object can have in a body (400 naming the field)', async () => {
    const refused = expectError(
      await post('/v1/responses', { model: 'test-llm', input: 'x', previous_response_id: 'resp_\u0000' }),
      400,
      'invalid_request',
      'previous_response_id',
    );
    expect(refused.message).toContain('printable ASCII');
    expectError(
      await post('/v1/responses', { model: 'test-llm', input: 'x', conversation: 'conv 1' }),
      400,
      'invalid_request',
      'conversation',
    );
  });

  it('answers a plain GET on the miners endpoint with 400', async () => {
    expectError(await h.gateway.app.inject({ method: 'GET', url: '/v1/miners' }), 400, 'invalid_request');
  });
});

describe('models', () => {
  it('answers an unknown model with 404 model_not_found', async () => {
    const error = expectError(
      await post('/v1/chat/completions', { ...chatBody, model: 'gpt-9' }),
      404,
      'model_not_found',
      'model',
    );
    expect(error.message).toContain('gpt-9');
    expectError(
      await post('/v1/embeddings', { model: 'gpt-9', input: 'x' }),
      404,
      'model_not_found',
      'model',
    );
    const get = await h.gateway.app.inject({
      method: 'GET',
      url: '/v1/models/gpt-9',
      headers: { authorization: `Bearer ${key}` },
    });
    expectError(get, 404, 'model_not_found', 'model');
  });

  it('lists the served models in OpenAI shape', async () => {
    const response = await h.gateway.app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.object).toBe('list');
    expect(body.data).toEqual([
      {
        id: 'test-llm',
        object: 'model',
        created: expect.any(Number),
        owned_by: expect.stringMatching(/^0x/),
      },
    ]);
    const one = await h.gateway.app.inject({
      method: 'GET',
      url: '/v1/models/test-llm',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(one.json()).toEqual(body.data[0]);
  });
});

describe('budget headers', () => {
  it('refuses invalid values with 400 naming the header', async () => {
    const cases: Array<[string, string]> = [
      ['x-neurino-timeout-ms', 'abc'],
      ['x-neurino-timeout-ms', '0'],
      ['x-neurino-timeout-ms', '3600001'],
      ['x-neurino-timeout-ms', '1.5'],
      ['x-neurino-max-retries', '-1'],
      ['x-neurino-max-retries', '11'],
      ['x-neurino-max-retries', ''],
    ];
    for (const [name, value] of cases) {
      expectError(
        await post('/v1/chat/completions', chatBody, { [name]: value }),
        400,
        'invalid_request',
        name,
      );
    }
  });

  it('refuses an out-of-range budget on the jobs API with the field as param', async () => {
    expectError(
      await post('/v1/jobs', { pod: 'test-llm', input: {}, timeout_ms: 0 }),
      400,
      'invalid_request',
      'timeout_ms',
    );
    expectError(
      await post('/v1/jobs', { pod: 'test-llm', input: {}, max_retries: 99 }),
      400,
      'invalid_request',
      'max_retries',
    );
    expectError(await post('/v1/jobs', { pod: 'nope', input: {} }), 404, 'pod_not_found', 'pod');
  });

  it('refuses a field the jobs API does not have, naming it', async () => {
    const response = await post('/v1/jobs', { pod: 'test-llm', input: {}, async: true });
    expectError(response, 400, 'invalid_request', 'async');
    expect(response.json().error.message).toBe(
      'async: unknown field; the fields are pod, input, mode, max_retries, timeout_ms',
    );
  });
});

describe('credits and capacity', () => {
  it('answers 402 insufficient_credits when the payer cannot cover the worst case, and reserves nothing', async () => {
    const response = await post('/v1/chat/completions', chatBody, { authorization: `Bearer ${brokeKey}` });
    expectError(response, 402, 'insufficient_credits');
    expect(held(broke)).toBe(0n);
    expect(await storedReceipts({ payer: broke })).toEqual([]);
  });

  it('answers 503 no_node_available when no miner is connected, and charges nothing', async () => {
    const response = await post('/v1/chat/completions', chatBody);
    expectError(response, 503, 'no_node_available');
    const jobs = await post('/v1/jobs', {
      pod: 'test-llm',
      input: { model: 'test-llm', messages: chatBody.messages },
    });
    expectError(jobs, 503, 'no_node_available');
    const jobId = String(jobs.headers['x-neurino-job-id']);
    const logged = await h.jobs.get(jobId);
    expect(logged).toMatchObject({
      status: 'failed',
      error: { code: 'no_node_available' },
      usage: undefined,
    });
    expect(held(developer)).toBe(0n);
    expect(await storedReceipts({ payer: developer })).toEqual([]);
  });

  it('answers a stream request that cannot start with a plain JSON error, not an event stream', async () => {
    const response = await post('/v1/chat/completions', { ...chatBody, stream: true });
    expectError(response, 503, 'no_node_available');
  });
});

describe('jobs API lookups', () => {
  it('answers unknown, malformed and foreign job ids alike with 404 job_not_found', async () => {
    const get = (id: string, k = key) =>
      h.gateway.app.inject({
        method: 'GET',
        url: `/v1/jobs/${id}`,
        headers: { authorization: `Bearer ${k}` },
      });
    expectError(await get('job_000000000000000000000000'), 404, 'job_not_found');
    expectError(await get('chatcmpl-000000000000000000000000'), 404, 'job_not_found');
    expectError(await get('%27%3B%20drop'), 404, 'job_not_found');
    const failed = await post('/v1/jobs', {
      pod: 'test-llm',
      input: { model: 'test-llm', messages: chatBody.messages },
    });
    const id = String(failed.headers['x-neurino-job-id']);
    expect((await get(id)).json()).toMatchObject({
      id,
      object: 'job',
      status: 'failed',
      error: { code: 'no_node_available' },
    });
    expectError(await get(id, brokeKey), 404, 'job_not_found');
  });
});

describe('operations', () => {
  it('tags every answer with a request id', async () => {
    const response = await h.gateway.app.inject({ method: 'GET', url: '/health' });
    expect(response.headers['x-request-id']).toMatch(/^req_[0-9A-Za-z]{24}$/);
  });

  it('reports health with its checks and connected nodes', async () => {
    const response = await h.gateway.app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'ok',
      checks: { store: { ok: true } },
      nodes: { connected: 0 },
      jobs: { inFlight: 0 },
    });
  });

  it('exposes Prometheus metrics, counting refused requests by route and status', async () => {
    const response = await h.gateway.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;
    for (const name of [
      'neurino_http_requests_total',
      'neurino_http_request_duration_seconds_bucket',
      'neurino_jobs_in_flight',
      'neurino_jobs_queued',
      'neurino_connected_nodes',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(
      /neurino_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="401"\} [1-9]/,
    );
    expect(text).toMatch(/neurino_http_requests_total\{route="unmatched",method="GET",status="404"\} [1-9]/);
    expect(text).toMatch(/neurino_jobs_total\{kind="chat",outcome="no_node_available"\} [1-9]/);
    expect(text).not.toContain(key);
  });
});
