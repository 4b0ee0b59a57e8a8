// Log probabilities through the gateway with a miner speaking the protocol: the node is asked for them
// (chat's fields, the legacy count), its entries answered in OpenAI's shapes (chat's `logprobs.content`,
// the completions' parallel lists), whole or streamed, read by the official client; a node that leaves
// them out (or adds them unasked) answered another request, and nothing is charged.
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { apiErrorOf } from '../testing/api-error.ts';
import { startClientHarness } from '../testing/client-harness.ts';
import type { GatewayHarness } from '../testing/gateway-harness.ts';

const developer = devAccount(6).address;
let h: GatewayHarness;
let client: OpenAI;
// biome-ignore lint/suspicious/noExplicitAny: tests read the node's input field by field
let inputs: any[] = [];
let withLogprobs = true;

const entries = [
  {
    token: 'Hi',
    logprob: -0.25,
    bytes: [72, 105],
    top: [
      { token: 'Hi', logprob: -0.25, bytes: [72, 105] },
      { token: 'Yo', logprob: -2, bytes: [89, 111] },
    ],
  },
  {
    token: ' €',
    logprob: -9999,
    bytes: [32, 226, 130, 172],
    top: [
      { token: '!', logprob: -0.5, bytes: [33] },
      { token: ' €', logprob: -9999, bytes: [32, 226, 130, 172] },
    ],
  },
];

/** Streamed, the first token comes in a chunk; the rest only with the result. */
async function answer(peer: MinerPeer, assign: JobAssign) {
  inputs.push(assign.input);
  peer.accept(assign);
  if (assign.stream) peer.chunk(assign, 0, 'Hi', withLogprobs ? { logprobs: entries.slice(0, 1) } : {});
  const choice = { text: 'Hi €', finishReason: 'stop', ...(withLogprobs ? { logprobs: entries } : {}) };
  const output = assign.kind === 'completion' ? { choices: [choice] } : choice;
  await peer.result(assign, output, { usage: { inputTokens: 5, outputTokens: 2 }, gpuMs: 1 });
}

beforeAll(async () => {
  ({ h, client } = await startClientHarness(developer, answer));
});

afterAll(async () => {
  await h?.close();
});

describe('log probabilities', () => {
  it("asks the node for a chat's and answers them as OpenAI's logprobs.content", async () => {
    inputs = [];
    const chat = await client.chat.completions.create({
      model: 'test-llm',
      messages: [{ role: 'user', content: 'hi' }],
      logprobs: true,
      top_logprobs: 2,
    });
    expect(inputs[0]).toMatchObject({ logprobs: true, top_logprobs: 2 });
    expect(chat.choices[0]?.logprobs).toEqual({
      content: [
        {
          token: 'Hi',
          logprob: -0.25,
          bytes: [72, 105],
          top_logprobs: [
            { token: 'Hi', logprob: -0.25, bytes: [72, 105] },
            { token: 'Yo', logprob: -2, bytes: [89, 111] },
          ],
        },
        {
          token: ' €',
          logprob: -9999,
          bytes: [32, 226, 130, 172],
          top_logprobs: [
            { token: '!', logprob: -0.5, bytes: [33] },
            { token: ' €', logprob: -9999, bytes: [32, 226, 130, 172] },
          ],
        },
      ],
      refusal: null,
    });
  });

  it("asks the node for a completion's and answers the legacy lists, the chosen token in each dict", async () => {
    inputs = [];
    const completion = await client.completions.create({ model: 'test-llm', prompt: 'hi', logprobs: 1 });
    expect(inputs[0]).toMatchObject({ logprobs: 1 });
    expect(completion.choices[0]?.logprobs).toEqual({
      tokens: ['Hi', ' €'],
      token_logprobs: [-0.25, -9999],
      top_logprobs: [
        { Hi: -0.25, Yo: -2 },
        { '!': -0.5, ' €': -9999 },
      ],
      text_offset: [0, 2],
    });
  });

  it('sends nothing of them to the node unasked, and answers logprobs null', async () => {
    withLogprobs = false;
    try {
      inputs = [];
      const chat = await client.chat.completions.create({
        model: 'test-llm',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(inputs[0]).not.toHaveProperty('logprobs');
      expect(inputs[0]).not.toHaveProperty('top_logprobs');
      expect(chat.choices[0]?.logprobs).toBeNull();
    } finally {
      withLogprobs = true;
    }
  });

  it("streams each piece's log probabilities with it, those of the rest with the rest", async () => {
    const stream = await client.chat.completions.create({
      model: 'test-llm',
      messages: [{ role: 'user', content: 'hi' }],
      logprobs: true,
      top_logprobs: 2,
      stream: true,
    });
    const pieces: Array<[string | null | undefined, string[] | undefined]> = [];
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      pieces.push([choice?.delta.content, choice?.logprobs?.content?.map((entry) => entry.token)]);
    }
    expect(pieces).toEqual([
      ['', undefined],
      ['Hi', ['Hi']],
      [' €', [' €']],
      [undefined, undefined],
    ]);

    const legacy = await client.completions.create({
      model: 'test-llm',
      prompt: 'hi',
      logprobs: 1,
      stream: true,
    });
    const offsets: Array<[string, number[] | undefined]> = [];
    for await (const chunk of legacy) {
      const choice = chunk.choices[0];
      if (choice !== undefined) offsets.push([choice.text, choice.logprobs?.text_offset]);
    }
    expect(offsets).toEqual([
      ['Hi', [0]],
      [' €', [2]],
      ['', undefined],
    ]);
  });

  it("answers the Responses API's with include, on the output text, whole and streamed", async () => {
    inputs = [];
    const asked = {
      model: 'test-llm',
      input: 'hi',
      include: ['message.output_text.logprobs' as const],
      top_logprobs: 2,
    };
    const whole = await client.responses.create(asked);
    expect(inputs[0]).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const [message] = whole.output;
    if (message?.type !== 'message') throw new Error('expected a message');
    const [part] = message.content;
    expect(part?.type === 'output_text' && part.logprobs).toEqual(
      entries.map(({ token, logprob, bytes, top }) => ({ token, logprob, bytes, top_logprobs: top })),
    );
    expect(whole.top_logprobs).toBe(2);

    const deltas: Array<[string, string[]]> = [];
    const stream = client.responses.stream(asked);
    stream.on('response.output_text.delta', (event) =>
      deltas.push([event.delta, event.logprobs.map((entry) => entry.token)]),
    );
    const final = await stream.finalResponse();
    expect(deltas).toEqual([
      ['Hi', ['Hi']],
      [' €', [' €']],
    ]);
    const [streamedMessage] = final.output;
    if (streamedMessage?.type !== 'message') throw new Error('expected a message');
    expect(streamedMessage.content[0]).toMatchObject(part as object); // the helper adds `parsed`

    inputs = [];
    withLogprobs = false;
    try {
      const plain = await client.responses.create({ model: 'test-llm', input: 'hi' });
      expect(inputs[0]).not.toHaveProperty('logprobs');
      const [item] = plain.output;
      expect(item?.type === 'message' && item.content[0]).not.toHaveProperty('logprobs');
    } finally {
      withLogprobs = true;
    }
  });

  it('refuses alternatives without logprobs, by name', async () => {
    const alone = client.chat.completions.create({
      model: 'test-llm',
      messages: [{ role: 'user', content: 'hi' }],
      top_logprobs: 2,
    });
    expect(await apiErrorOf(alone)).toEqual({ status: 400, code: 'invalid_request', param: 'top_logprobs' });
  });

  it('takes a node that leaves them out, or adds them unasked, for a bad result, and charges nothing', async () => {
    const held = () => h.metering.leases.lease(developer)?.held ?? 0n;
    withLogprobs = false;
    try {
      const missing = client.chat.completions.create({
        model: 'test-llm',
        messages: [{ role: 'user', content: 'hi' }],
        logprobs: true,
      });
      expect(await apiErrorOf(missing)).toMatchObject({ status: 502, code: 'bad_result' });
    } finally {
      withLogprobs = true;
    }
    await h.nodesAvailable(1);
    const unasked = client.chat.completions.create({
      model: 'test-llm',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(await apiErrorOf(unasked)).toMatchObject({ status: 502, code: 'bad_result' });
    expect(held()).toBe(0n);
    await h.nodesAvailable(1);
  });
});
