// Several pods on one node, each with slots of its own (capabilities' `podSlots`): behind the gateway, a
// pod whose own slot on the best node is busy is served by another node, although the best node still has
// a free slot (the other pod's), rather than queued on the best node behind its own job. Miners are
// protocol peers the test scripts.
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { MinerPeer, testCapabilities } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { podId } from '../../protocol/pod-spec.ts';
import {
  answerText,
  type GatewayHarness,
  minerAccount,
  startGatewayHarness,
  TEST_DOMAIN,
  testPodSpec,
} from '../testing/gateway-harness.ts';

const developer = devAccount(7).address;
const chatSpec = testPodSpec({ name: 'chat-llm' });
const otherSpec = testPodSpec({ name: 'other-llm' });
const chatPod = podId(chatSpec);
const otherPod = podId(otherSpec);
let h: GatewayHarness;
const peers: MinerPeer[] = [];

beforeAll(async () => {
  h = await startGatewayHarness({ specs: [chatSpec, otherSpec] });
});

afterAll(async () => {
  for (const peer of peers) peer.terminate();
  await h?.close();
});

describe("pods' own slots on a node", () => {
  it("sends a pod's job to another node while its own slot on the best node is busy", async () => {
    // The best node hosts both pods warm, one slot each; the other node only the chat pod.
    const best = await MinerPeer.join(
      { url: h.wsUrl, account: minerAccount(0), domain: TEST_DOMAIN },
      testCapabilities({
        warmPods: [chatPod, otherPod],
        slots: { total: 2, free: 2 },
        podSlots: [
          { podId: chatPod, total: 1 },
          { podId: otherPod, total: 1 },
        ],
        efficiency: 100,
      }),
    );
    const spare = await MinerPeer.join(
      { url: h.wsUrl, account: minerAccount(1), domain: TEST_DOMAIN },
      testCapabilities({ warmPods: [chatPod], slots: { total: 1, free: 1 }, efficiency: 10 }),
    );
    peers.push(best, spare);
    const held: JobAssign[] = [];
    best.serve((assign) => {
      if (held.length === 0) held.push(assign);
      else void answerText(best, assign, ['from the best node']);
    });
    spare.serve((assign) => answerText(spare, assign, ['from the spare node']));
    await h.nodesAvailable(2);

    const key = await h.key(developer);
    const ask = (model: string) =>
      fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }] }),
      });
    const text = async (response: Response) =>
      ((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message
        .content;

    const first = ask('chat-llm');
    await expect.poll(() => held.length).toBe(1);
    const session = h.hub.session(best.node);
    expect(held[0]?.podId).toBe(chatPod);
    // The node has a slot free, the other pod's; the chat pod has none of its own left there.
    expect(session?.freeSlots).toBe(1);
    expect(session?.freeSlotsFor(chatPod)).toBe(0);
    expect(session?.freeSlotsFor(otherPod)).toBe(1);

    const second = await ask('chat-llm');
    expect(second.status).toBe(200);
    expect(await text(second)).toBe('from the spare node');
    // The other pod's slot on the best node is its own: taken there.
    const other = await ask('other-llm');
    expect(other.status).toBe(200);
    expect(await text(other)).toBe('from the best node');

    await answerText(best, held[0] as JobAssign, ['done']);
    expect((await first).status).toBe(200);
    await expect.poll(() => session?.freeSlotsFor(chatPod)).toBe(1);
    // Its own slot free again: the chat pod goes back to the best node.
    const third = await ask('chat-llm');
    expect(await text(third)).toBe('from the best node');
    const podIds: Hex[] = [chatPod, otherPod];
    for (const id of podIds) expect(session?.runsPod(id)).toBe(false);
  });
});
