// A request within the body limit whose job is larger as a node receives it (numbers written short, as
// `2e9`, are written out in full): the router refuses it with 413 before any node runs it, charges
// nothing and holds nothing, and no node is suspended or disconnected for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(6).address;
let h: GatewayHarness;
let key: string;
let assigned = 0;

beforeAll(async () => {
  h = await startGatewayHarness();
  key = await h.key(developer);
  await h.peer(0, () => {
    assigned++;
  });
});

afterAll(async () => {
  await h?.close();
});

describe('a job larger than a node may receive', () => {
  it('is refused with 413 before any node runs it, and costs nothing', async () => {
    // Four prompts of 800,000 token ids each, ~13 MB as sent and ~35 MB written out.
    const ids = Array.from({ length: 800_000 }, () => '2e9').join(',');
    const body = `{"model":"test-llm","prompt":[[${ids}],[${ids}],[${ids}],[${ids}]],"max_tokens":1}`;
    expect(body.length).toBeLessThan(16 * 1024 * 1024);
    const answer = await h.gateway.app.inject({
      method: 'POST',
      url: '/v1/completions',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      payload: body,
    });
    expect(answer.statusCode).toBe(413);
    expect(answer.json().error).toMatchObject({ code: 'payload_too_large' });
    expect(answer.json().error.message).toMatch(/MiB as a node receives it/);
    expect(assigned).toBe(0);
    await h.metering.flush();
    expect(await h.ledger.receiptsFor({ payer: developer })).toEqual([]);
    expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
    expect(h.scheduler.stats()).toMatchObject({ suspended: 0, available: 1 });
  });
});
