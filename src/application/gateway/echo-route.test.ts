// A completion's echo on POST /v1/completions with a miner speaking the protocol: each choice's text
// begins with its prompt; with logprobs the node scores the prompt (on each prompt's first choice) and the
// answer's lists hold the prompt's tokens, then the answer's, whole or streamed; max_tokens 0 answers the
// prompt alone. A node that leaves the prompt's entries out, or adds them unasked, answered another
// request, and nothing is charged.
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
let misbehave: 'none' | 'omit' | 'unasked' | 'silent-stream' | 'no-text' = 'none';

/** A prompt of token ids spells one letter per id (1: a, 2: b…) in the fake node's vocabulary. */
const spelled = (prompt: string | number[]) =>
  typeof prompt === 'string' ? prompt : prompt.map((id) => String.fromCharCode(96 + id)).join('');

const utf8 = (text: string) => [...Buffer.from(text, 'utf8')];

/** The prompt's tokens as the node scores them: a character each, the first unscored. */
function promptEntries(prompt: string) {
  return [...prompt].map((token, i) =>
    i === 0
      ? { token, logprob: null, bytes: utf8(token), top: null }
      : { token, logprob: -i, bytes: utf8(token), top: [{ token: 'z', logprob: -0.5, bytes: [122] }] },
  );
}

const answerEntry = (token: string, logprob: number) => ({ token, logprob, bytes: utf8(token), top: [] });

/** Each choice answers "!<i>" (two tokens; nothing with max_tokens 0), streamed a token at a time. */
async function answer(peer: MinerPeer, assign: JobAssign) {
  const input = assign.input as {
    prompt: string | string[] | number[] | number[][];
    n?: number;
    echo?: boolean;
    logprobs?: number;
    max_tokens?: number;
  };
  inputs.push(input);
  peer.accept(assign);
  const given = input.prompt;
  const prompts: Array<string | number[]> =
    typeof given === 'string'
      ? [given]
      : typeof given[0] === 'number'
        ? [given as number[]]
        : (given as string[]);
  const n = input.n ?? 1;
  const scored = (input.echo === true && input.logprobs !== undefined) !== (misbehave === 'unasked');
  const withLogprobs = input.logprobs !== undefined;
  let seq = 0;
  const choices = prompts.flatMap((prompt, p) =>
    Array.from({ length: n }, (_, i) => {
      const index = p * n + i;
      const choice = index === 0 ? {} : { choice: index };
      const scoring = scored && i === 0 && misbehave !== 'omit';
      const writing = input.echo === true && typeof prompt !== 'string' && i === 0 && misbehave !== 'no-text';
      if (assign.stream && writing && misbehave !== 'silent-stream') {
        peer.chunk(assign, seq++, '', { promptText: spelled(prompt), ...choice });
      }
      if (assign.stream && scoring && misbehave !== 'silent-stream') {
        peer.chunk(assign, seq++, '', { promptLogprobs: promptEntries(spelled(prompt)), ...choice });
      }
      const tokens = input.max_tokens === 0 ? [] : [answerEntry('!', -0.25), answerEntry(String(i), -1)];
      if (assign.stream) {
        for (const entry of tokens) {
          peer.chunk(assign, seq++, entry.token, {
            ...(withLogprobs ? { logprobs: [entry] } : {}),
            ...choice,
          });
        }
      }
      return {
        text: tokens.map((entry) => entry.token).join(''),
        finishReason: input.max_tokens === 0 ? 'length' : 'stop',
        ...(withLogprobs ? { logprobs: tokens } : {}),
        ...(scoring ? { promptLogprobs: promptEntries(spelled(prompt)) } : {}),
        ...(writing ? { promptText: spelled(prompt) } : {}),
      };
    }),
  );
  const outputTokens = choices.reduce((sum, c) => sum + c.text.length, 0);
  await peer.result(assign, { choices }, { usage: { inputTokens: 4, outputTokens }, gpuMs: 1 });
}

beforeAll(async () => {
  ({ h, client } = await startClientHarness(developer, answer));
});

afterAll(async () => {
  await h?.close();
});

/** The legacy lists, read as OpenAI writes them (null where a token has nothing before it). */
function listsOf(choice: { logprobs: unknown }) {
  return choice.logprobs as {
    tokens: string[];
    token_logprobs: Array<number | null>;
    top_logprobs: Array<Record<string, number> | null>;
    text_offset: number[];
  };
}

describe('echo', () => {
  it("writes each choice's prompt before its text, and asks the node for nothing more", async () => {
    inputs = [];
    const completion = await client.completions.create({
      model: 'test-llm',
      prompt: ['ab', 'cd'],
      n: 2,
      echo: true,
    });
    // The gateway writes the prompts: the node has nothing to score.
    expect(inputs[0]).toMatchObject({ n: 2 });
    expect(inputs[0].echo).toBeUndefined();
    expect(inputs[0].logprobs).toBeUndefined();
    expect(completion.choices.map((c) => [c.index, c.text, c.logprobs])).toEqual([
      [0, 'ab!0', null],
      [1, 'ab!1', null],
      [2, 'cd!0', null],
      [3, 'cd!1', null],
    ]);
  });

  it("answers the prompt's tokens, then the answer's, in the legacy lists", async () => {
    inputs = [];
    const completion = await client.completions.create({
      model: 'test-llm',
      prompt: 'héllo',
      echo: true,
      logprobs: 1,
    });
    expect(inputs[0]).toMatchObject({ echo: true, logprobs: 1 });
    const [choice] = completion.choices;
    expect(choice?.text).toBe('héllo!0');
    expect(listsOf(choice as { logprobs: unknown })).toEqual({
      tokens: ['h', 'é', 'l', 'l', 'o', '!', '0'],
      token_logprobs: [null, -1, -2, -3, -4, -0.25, -1],
      top_logprobs: [
        null,
        { z: -0.5, é: -1 },
        { z: -0.5, l: -2 },
        { z: -0.5, l: -3 },
        { z: -0.5, o: -4 },
        { '!': -0.25 },
        { 0: -1 },
      ],
      text_offset: [0, 1, 2, 3, 4, 5, 6],
    });
  });

  it('answers the prompt alone, scored, with max_tokens 0 (how evaluation harnesses read a likelihood)', async () => {
    inputs = [];
    const completion = await client.completions.create({
      model: 'test-llm',
      prompt: ['xy', 'z'],
      echo: true,
      max_tokens: 0,
      logprobs: 0,
    });
    expect(inputs[0]).toMatchObject({ echo: true, max_tokens: 0, logprobs: 0 });
    expect(completion.choices.map((c) => [c.text, c.finish_reason, listsOf(c).token_logprobs])).toEqual([
      ['xy', 'length', [null, -1]],
      ['z', 'length', [null]],
    ]);
    expect(completion.usage?.completion_tokens).toBe(0);
  });

  it("gives best_of's picked choices their prompt's entries, and has none scored unasked", async () => {
    inputs = [];
    const unscored = await client.completions.create({
      model: 'test-llm',
      prompt: 'ab',
      best_of: 2,
      echo: true,
    });
    // best_of's own log probabilities rank the choices: the prompt is not scored for them.
    expect(inputs[0]).toMatchObject({ n: 2, logprobs: 0 });
    expect(inputs[0].echo).toBeUndefined();
    expect(unscored.choices.map((c) => [c.text, c.logprobs])).toEqual([['ab!0', null]]);
    const completion = await client.completions.create({
      model: 'test-llm',
      prompt: 'ab',
      best_of: 3,
      echo: true,
      logprobs: 0,
    });
    // Every candidate ranks alike: the first written is answered, after its prompt.
    const [choice] = completion.choices;
    expect(choice?.text).toBe('ab!0');
    expect(listsOf(choice as { logprobs: unknown }).token_logprobs).toEqual([null, -1, -0.25, -1]);
  });

  it('streams each choice its prompt first, scored, then its text, offsets counted after the prompt', async () => {
    const stream = await client.completions.create({
      model: 'test-llm',
      prompt: 'abc',
      n: 2,
      echo: true,
      logprobs: 1,
      stream: true,
    });
    const byChoice: Array<{
      text: string;
      tokens: string[];
      logprobs: Array<number | null>;
      offsets: number[];
    }> = [];
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        const seen = byChoice[c.index] ?? { text: '', tokens: [], logprobs: [], offsets: [] };
        byChoice[c.index] = seen;
        seen.text += c.text;
        const lists = c.logprobs === null ? undefined : listsOf(c);
        seen.tokens.push(...(lists?.tokens ?? []));
        seen.logprobs.push(...(lists?.token_logprobs ?? []));
        seen.offsets.push(...(lists?.text_offset ?? []));
      }
    }
    for (const [i, seen] of byChoice.entries()) {
      expect(seen).toEqual({
        text: `abc!${i}`,
        tokens: ['a', 'b', 'c', '!', String(i)],
        logprobs: [null, -1, -2, -0.25, -1],
        offsets: [0, 1, 2, 3, 4],
      });
    }
  });

  it('streams the prompt from the result when the node streamed none of its entries', async () => {
    misbehave = 'silent-stream';
    try {
      const stream = await client.completions.create({
        model: 'test-llm',
        prompt: 'ab',
        echo: true,
        max_tokens: 0,
        logprobs: 0,
        stream: true,
      });
      const texts: string[] = [];
      const logprobs: Array<number | null> = [];
      for await (const chunk of stream) {
        for (const c of chunk.choices) {
          texts.push(c.text);
          logprobs.push(...(c.logprobs === null ? [] : listsOf(c).token_logprobs));
        }
      }
      expect(texts.join('')).toBe('ab');
      expect(logprobs).toEqual([null, -1]);
    } finally {
      misbehave = 'none';
    }
  });

  it('echoes a prompt of token ids with the text the node wrote, whole and streamed', async () => {
    inputs = [];
    const completion = await client.completions.create({
      model: 'test-llm',
      prompt: [
        [1, 2],
        [3, 4, 5],
      ],
      echo: true,
      logprobs: 0,
    });
    expect(inputs[0]).toMatchObject({
      prompt: [
        [1, 2],
        [3, 4, 5],
      ],
      echo: true,
      logprobs: 0,
    });
    expect(completion.choices.map((c) => [c.text, listsOf(c).tokens])).toEqual([
      ['ab!0', ['a', 'b', '!', '0']],
      ['cde!0', ['c', 'd', 'e', '!', '0']],
    ]);
    // Without logprobs the node is still asked for echo: only it can spell the ids.
    inputs = [];
    const plain = await client.completions.create({ model: 'test-llm', prompt: [1, 2, 3], echo: true, n: 2 });
    expect(inputs[0]).toMatchObject({ echo: true });
    expect(plain.choices.map((c) => c.text)).toEqual(['abc!0', 'abc!1']);
    const stream = await client.completions.create({
      model: 'test-llm',
      prompt: [1, 2, 3],
      echo: true,
      n: 2,
      stream: true,
    });
    const texts = ['', ''];
    for await (const chunk of stream) for (const c of chunk.choices) texts[c.index] += c.text;
    expect(texts).toEqual(['abc!0', 'abc!1']);
    // A node that leaves the text out answered another request.
    misbehave = 'no-text';
    try {
      const failed = await apiErrorOf(
        client.completions.create({ model: 'test-llm', prompt: [1], echo: true }),
      );
      expect(failed).toMatchObject({ status: 502, code: 'bad_result' });
    } finally {
      misbehave = 'none';
    }
    await h.nodesAvailable(1);
  });

  it('refuses max_tokens 0 without echo, and echo with a suffix, by name', async () => {
    const alone = await apiErrorOf(
      client.completions.create({ model: 'test-llm', prompt: 'a', max_tokens: 0 }),
    );
    expect(alone).toMatchObject({ status: 400, code: 'invalid_request', param: 'max_tokens' });
    const filled = await apiErrorOf(
      client.completions.create({ model: 'test-llm', prompt: 'a', echo: true, suffix: 'b' }),
    );
    expect(filled).toMatchObject({ status: 400, code: 'invalid_request', param: 'echo' });
  });

  it("takes a node that leaves out the prompt's entries, or adds them unasked, for a bad result", async () => {
    const receipts = async () => {
      await h.metering.flush();
      return (await h.ledger.receiptsFor({ payer: developer })).length;
    };
    const before = await receipts();
    for (const kind of ['omit', 'unasked'] as const) {
      misbehave = kind;
      try {
        const failed = await apiErrorOf(
          client.completions.create({
            model: 'test-llm',
            prompt: 'ab',
            echo: kind === 'omit',
            logprobs: 0,
            max_tokens: 2,
          }),
        );
        expect(failed).toMatchObject({ status: 502, code: 'bad_result' });
      } finally {
        misbehave = 'none';
      }
      await h.nodesAvailable(1);
    }
    expect(await receipts()).toBe(before);
    expect(h.metering.leases.lease(developer)?.held ?? 0n).toBe(0n);
  });
});
