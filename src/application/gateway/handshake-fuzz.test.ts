// Fuzzing the miners' endpoint: connections whose hello, challenge answer or capabilities are seeded
// mutations of valid ones, from allowed nodes and strangers. Whatever arrives, a node is welcomed only
// after a valid hello and a challenge answer its own key signed; the router answers or closes every
// connection, never crashes; and afterwards a proper miner joins and serves a request.
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { MinerPeer, testCapabilities } from '../../orchestration/router/testing/miner-peer.ts';
import { signChallenge } from '../../protocol/handshake-auth.ts';
import type { RouterMessage } from '../../protocol/messages/index.ts';
import { mulberry32 } from '../../protocol/mulberry32.ts';
import { type Json, mutate, pick, type Random } from '../../protocol/testing/json-mutation.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import {
  answerText,
  type GatewayHarness,
  minerAccount,
  startGatewayHarness,
  TEST_DOMAIN,
} from '../testing/gateway-harness.ts';

const CASES = Number(process.env.NEURINO_FUZZ_CASES ?? 150);
const SEED = Number(process.env.NEURINO_FUZZ_SEED ?? 20261127);
const stranger = privateKeyToAccount(`0x${'7'.repeat(64)}`);

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness();
});

afterAll(async () => {
  await h?.close();
});

/** The router's next frame of these types, or what ended the wait: 'closed' or 'silent' (nothing in time). */
async function reply(
  peer: MinerPeer,
  types: RouterMessage['type'][],
): Promise<RouterMessage | 'closed' | 'silent'> {
  let timer: NodeJS.Timeout | undefined;
  const closed = peer.closed.then(() => 'closed' as const);
  const silent = new Promise<'silent'>((resolve) => {
    timer = setTimeout(() => resolve('silent'), 5_000);
  });
  try {
    return await Promise.race([peer.nextOf(types), closed, silent]);
  } finally {
    clearTimeout(timer);
  }
}

type Stage = 'hello' | 'answer' | 'capabilities' | 'none';

describe('handshake fuzz', () => {
  it(`welcomes only a valid, signed hello among ${CASES} mutated ones, and keeps serving`, async () => {
    const random: Random = mulberry32(SEED);
    const failures: string[] = [];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const allowed = random() < 0.8;
      const account = allowed ? minerAccount(Math.floor(random() * 6)) : stranger;
      const stage: Stage = pick(random, ['hello', 'answer', 'capabilities', 'none'] as const);
      const peer = await MinerPeer.open({ url: h.wsUrl, account, domain: TEST_DOMAIN });
      const hello: Json = {
        type: 'hello',
        version: PROTOCOL_VERSION,
        node: account.address,
        software: { neurino: '0.1.0-fuzz', node: process.version },
      };
      const sentHello = stage === 'hello' ? { ...(mutate(hello, random) as object), type: 'hello' } : hello;
      peer.sendRaw(JSON.stringify(sentHello));
      const seen = `seed ${SEED} case ${i}: ${stage} ${allowed ? 'allowed' : 'stranger'} ${JSON.stringify(sentHello).slice(0, 300)}`;
      let outcome = await reply(peer, ['challenge', 'refused', 'welcome']);
      if (typeof outcome !== 'string' && outcome.type === 'challenge') {
        const signature = await signChallenge(account, TEST_DOMAIN, outcome);
        const answer: Json = { type: 'challenge.answer', signature };
        const sent =
          stage === 'answer' ? { ...(mutate(answer, random) as object), type: 'challenge.answer' } : answer;
        peer.sendRaw(JSON.stringify(sent));
        outcome = await reply(peer, ['welcome', 'refused']);
        const answerIntact = JSON.stringify(sent) === JSON.stringify(answer);
        if (typeof outcome !== 'string' && outcome.type === 'welcome') {
          if (!allowed) failures.push(`${seen}\na stranger welcomed`);
          // Extra fields aside, a welcome needs the signature as signed.
          if (!answerIntact && (sent as { signature?: unknown }).signature !== signature) {
            failures.push(`${seen}\nwelcomed on a changed signature ${JSON.stringify(sent)}`);
          }
          const capabilities = testCapabilities({ warmPods: [h.podId] }) as unknown as Json;
          peer.sendRaw(
            JSON.stringify(
              stage === 'capabilities'
                ? { ...(mutate(capabilities, random) as object), type: 'capabilities' }
                : capabilities,
            ),
          );
        }
      } else if (typeof outcome !== 'string' && outcome.type === 'welcome') {
        failures.push(`${seen}\nwelcomed without a challenge`);
      }
      const label = typeof outcome === 'string' ? outcome : outcome.type;
      outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
      if (label === 'silent') failures.push(`${seen}\nno answer and no close within 5 s`);
      peer.terminate();
      await peer.closed;
    }
    expect(failures.slice(0, 5).join('\n\n'), `${failures.length} failing cases`).toBe('');
    expect(outcomes.get('welcome') ?? 0, JSON.stringify([...outcomes])).toBeGreaterThan(0);
    expect(outcomes.get('refused') ?? 0, JSON.stringify([...outcomes])).toBeGreaterThan(0);

    // The router still admits a proper miner, which serves a request.
    await h.nodesAvailable(0);
    await h.peer(0, (peer, assign) => answerText(peer, assign, ['ok']));
    const key = await h.key(devAccount(8).address);
    const answer = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-llm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(answer.status).toBe(200);
  });
});
