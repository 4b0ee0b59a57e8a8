// best_of on POST /v1/completions with a miner speaking the protocol: the node writes best_of choices per
// prompt with their tokens' log probabilities, the caller gets the n likeliest of each prompt (its
// log probabilities only when asked), and pays for every choice written.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { apiErrorOf } from '../testing/api-error.ts';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(6).address;
let h: GatewayHarness;
let client: OpenAI;
// biome-ignore lint/suspicious/noExplicitAny: tests read the node's input field by field
let inputs: any[] = [];

/** Choice i of each prompt is "c<i>", the likeliest when i is 1 (then 2, 0, 3…), one token each. */
const LOGPROB_OF = [-2, -0.1, -1, -3, -4];

async function answer(peer: MinerPeer, assign: JobAssign) {
  const input = assign.input as { prompt: string | string[]; n?: number };
  inputs.push(input);
  peer.accept(assign);
  const prompts = Array.isArray(input.prompt) ? input.prompt : [input.prompt];
  const choices = prompts.flatMap((prompt) =>
    Array.from({ length: input.n ?? 1 }, (_, i) => ({
      text: `${prompt}:c${i}`,
      finishReason: 'stop',
      logprobs: [{ token: `${prompt}:c${i}`, logprob: LOGPROB_OF[i] ?? -9, bytes: [], top: [] }],
    })),
  );
  await peer.result(
    assign,
    { choices },
    { usage: { inputTokens: 2, outputTokens: choices.length }, gpuMs: 1 },
  );
}

beforeAll(async () => {
  h = await startGatewayHarness();
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.key(developer), maxRetries: 0 });
  await h.peer(0, answer);
});

afterAll(async () => {
  await h?.close();
});

describe('best_of', () => {
  it('asks the node for best_of choices with log probabilities and answers the n likeliest', async () => {
    inputs = [];
    const completion = await client.completions.create({
      model: 'test-llm',
      prompt: ['p', 'q'],
      best_of: 3,
      n: 2,
    });
    expect(inputs[0]).toMatchObject({ n: 3, logprobs: 0 });
    expect(completion.choices.map((c) => [c.index, c.text, c.logprobs])).toEqual([
      [0, 'p:c1', null],
      [1, 'p:c2', null],
      [2, 'q:c1', null],
      [3, 'q:c2', null],
    ]);
    // Every written choice is paid: six of them.
    expect(completion.usage?.completion_tokens).toBe(6);
  });

  it('keeps the log probabilities when asked for them', async () => {
    inputs = [];
    const completion = await client.completions.create({
      model: 'test-llm',
      prompt: 'p',
      best_of: 4,
      logprobs: 2,
    });
    expect(inputs[0]).toMatchObject({ n: 4, logprobs: 2 });
    expect(completion.choices.map((c) => [c.text, c.logprobs?.token_logprobs])).toEqual([['p:c1', [-0.1]]]);
  });

  it('refuses best_of below n or streamed, before any node runs', async () => {
    inputs = [];
    for (const extra of [
      { best_of: 2, n: 3 },
      { best_of: 2, stream: true },
    ]) {
      const error = await apiErrorOf(client.completions.create({ model: 'test-llm', prompt: 'p', ...extra }));
      expect(error, JSON.stringify(extra)).toMatchObject({
        status: 400,
        code: 'invalid_request',
        param: 'best_of',
      });
    }
    expect(inputs).toEqual([]);
  });
});
