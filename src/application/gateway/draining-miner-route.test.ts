// Two real miners on the tiny model behind the gateway; one starts draining (as on SIGTERM) just as a job
// is sent to it. With nothing running it closes at once, the job unread: a node that drained and closed
// normally took none of the jobs left on it, so the job goes to the other miner though its caller left no
// retry to spare, and is charged once, to the miner that served it.
import { getAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { Miner } from '../../compute/miner/miner.ts';
import { startTestMiner, type TinyPod, tinyPod } from '../../compute/miner/testing/miner-fixture.ts';
import type { LogLine } from '../../protocol/testing/capture-logger.ts';
import { type GatewayHarness, minerAccount, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(7).address;
let pod: TinyPod;
let h: GatewayHarness;
const miners = new Map<string, { miner: Miner; lines: LogLine[] }>();
let key: string;

beforeAll(async () => {
  pod = await tinyPod();
  h = await startGatewayHarness({ specs: [pod.spec] });
  for (const account of [minerAccount(0), minerAccount(1)]) {
    miners.set(getAddress(account.address), await startTestMiner(pod, h.wsUrl, { account }));
  }
  await h.nodesAvailable(2);
  key = await h.key(developer);
});

afterAll(async () => {
  for (const { miner } of miners.values()) await miner.stop();
  await h?.close();
  await pod?.cleanup();
});

describe('a miner that starts draining as a job is sent to it', () => {
  it('leaves the job to the other miner, which serves it without spending a retry', async () => {
    let drained: string | undefined;
    // The router tells its listeners of the assignment as it sends it: the miner drains before reading it.
    const unsubscribe = h.hub.subscribe((session, change) => {
      if (drained !== undefined || change.kind !== 'slots' || session.inFlight === 0) return;
      drained = session.node;
      void miners.get(session.node)?.miner.drain();
    });
    const answer = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-neurino-max-retries': '0',
      },
      body: JSON.stringify({
        model: 'neurino-tiny',
        messages: [{ role: 'user', content: 'Once upon a time' }],
        max_tokens: 4,
        temperature: 0,
      }),
    });
    unsubscribe();
    expect(answer.status, await answer.clone().text()).toBe(200);
    expect(drained).toBeDefined();
    await h.metering.flush();
    const receipts = await h.ledger.receiptsFor({ payer: developer });
    expect(receipts).toHaveLength(1);
    expect(getAddress(receipts[0]?.receipt.node ?? '0x')).not.toBe(drained);
    expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
  });
});
