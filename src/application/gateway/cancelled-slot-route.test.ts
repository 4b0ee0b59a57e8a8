// A real miner on the tiny model with one slot, behind the gateway: a request that runs past its deadline
// is cancelled, and a request waiting for that slot gets it once the miner has stopped the cancelled job,
// not before (when the miner, still stopping it, would refuse the job for want of a slot). Neither
// request is charged but the one served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { Miner } from '../../compute/miner/miner.ts';
import { startTestMiner, type TinyPod, tinyPod } from '../../compute/miner/testing/miner-fixture.ts';
import { type GatewayHarness, minerAccount, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(7).address;
let pod: TinyPod;
let h: GatewayHarness;
let miner: Miner;
let lines: { msg: string }[];
let key: string;

beforeAll(async () => {
  pod = await tinyPod();
  h = await startGatewayHarness({ specs: [pod.spec], maxQueueMs: 30_000 });
  ({ miner, lines } = await startTestMiner(pod, h.wsUrl, { account: minerAccount(0), slots: 1 }));
  await h.nodesAvailable(1);
  key = await h.key(developer);
});

afterAll(async () => {
  await miner?.stop();
  await h?.close();
  await pod?.cleanup();
});

function chat(maxTokens: number, headers: Record<string, string>) {
  return fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      model: 'neurino-tiny',
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: maxTokens,
      temperature: 0,
    }),
  });
}

describe("a cancelled job's slot", () => {
  it('goes to the next waiting job once the miner has stopped the cancelled one', async () => {
    // Long enough to run past its deadline on any machine.
    const late = chat(4_000, { 'x-neurino-timeout-ms': '200' });
    await expect.poll(() => miner.state().slots.free).toBe(0);
    // Waits for the only slot, with no retry to spare: a refusal by the miner would fail it.
    const next = chat(4, { 'x-neurino-max-retries': '0', 'x-neurino-timeout-ms': '20000' });
    const [lateAnswer, nextAnswer] = await Promise.all([late, next]);
    expect(lateAnswer.status).toBe(504);
    expect(nextAnswer.status).toBe(200);
    expect(
      ((await nextAnswer.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens,
    ).toBe(4);
    expect(lines.some((l) => l.msg.startsWith('refused job'))).toBe(false);
    await h.metering.flush();
    const receipts = await h.ledger.receiptsFor({ payer: developer });
    expect(receipts).toHaveLength(1);
    expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
  });
});
