// A frontend's referred nodes through the whole router on a real chain: of two staked nodes with the pod
// warm, the gateway's requests go to the one its frontend refers, though the other measures faster, and
// to the other once the referred one is gone (whitepaper 2.2.2).
import { pino } from 'pino';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/free-port.ts';
import { devAccount, devRoleAccount } from '../chain/dev-accounts.ts';
import { ensurePodRegistered } from '../chain/pod-registration.ts';
import { MinerPeer, testCapabilities } from '../orchestration/router/testing/miner-peer.ts';
import {
  type ProtocolFixture,
  startProtocolFixture,
} from '../orchestration/settlement/testing/protocol-fixture.ts';
import { podId } from '../protocol/pod-spec.ts';
import type { RunningRouter } from './router/router-options.ts';
import { startRouter } from './router-process.ts';
import { answerText, testPodSpec } from './testing/gateway-harness.ts';

const spec = testPodSpec();
const id = podId(spec);
const router = devRoleAccount('router');
const frontend = devRoleAccount('frontend').address;
const developer = devAccount(5).address;
/** Measures five times faster than the partner: the first pick without a referral. */
const fast = devAccount(10);
const partner = devAccount(11);

let fixture: ProtocolFixture;
let running: RunningRouter;
let key: string;
const peers: MinerPeer[] = [];

async function join(account: typeof fast, efficiency: number): Promise<MinerPeer> {
  const peer = await MinerPeer.join(
    { url: running.wsUrl, account, domain: fixture.domain },
    testCapabilities({ warmPods: [id], efficiency }),
  );
  peer.startHeartbeats(1_000);
  peer.serve((assign) => answerText(peer, assign, ['Hi']));
  peers.push(peer);
  return peer;
}

async function servedBy(requests: number): Promise<string[]> {
  const before = (await running.ledger.receiptsFor({ payer: developer })).length;
  for (let i = 0; i < requests; i++) {
    const response = await fetch(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: spec.name, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    await response.text();
  }
  await running.metering.flush();
  const receipts = await running.ledger.receiptsFor({ payer: developer });
  return receipts.slice(before).map((stored) => stored.receipt.node);
}

beforeAll(async () => {
  fixture = await startProtocolFixture(await freePort());
  for (const node of [fast, partner]) await fixture.registerNode(node, parseEther('1000'));
  await ensurePodRegistered({
    publicClient: fixture.publicClient,
    walletClient: fixture.walletFor(devRoleAccount('podDeployer')),
    podRegistry: fixture.book.contracts.podRegistry,
    spec,
  });
  await fixture.fund(developer, parseEther('10'));
  running = await startRouter({
    port: 0,
    rpcUrl: fixture.anvil.rpcUrl,
    addressBook: fixture.book,
    routerAccount: router,
    pods: [spec],
    batch: { maxReceipts: 100, maxDelayMs: 60_000 },
    logger: pino({ level: process.env.NEURINO_TEST_LOG ?? 'silent' }),
    gateway: { frontend, defaultMetrics: false },
    referredNodes: [partner.address],
  });
  key = (await running.apiKeys.create({ account: developer })).key;
});

afterAll(async () => {
  for (const peer of peers) peer.close();
  await running?.stop();
  await fixture?.stop();
});

describe('referred nodes', () => {
  it("sends the frontend's requests to the node it refers, though another measures faster", async () => {
    await join(fast, 50);
    const referred = await join(partner, 10);
    while (running.hub.sessions().filter((s) => s.snapshot() !== undefined).length < 2)
      await new Promise((ok) => setTimeout(ok, 5));
    expect(await servedBy(4)).toEqual(Array(4).fill(partner.address));

    // Gone, the referred node leaves the requests to the others.
    referred.close();
    while (running.hub.sessions().length > 1) await new Promise((ok) => setTimeout(ok, 5));
    expect(await servedBy(2)).toEqual(Array(2).fill(fast.address));
  });

  it('refuses referrals without a frontend to make them', async () => {
    await expect(
      startRouter({
        rpcUrl: fixture.anvil.rpcUrl,
        addressBook: fixture.book,
        routerAccount: router,
        pods: [spec],
        batch: { maxReceipts: 100, maxDelayMs: 60_000 },
        logger: pino({ level: 'silent' }),
        referredNodes: [partner.address],
      }),
    ).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/frontend/) });
  });
});
