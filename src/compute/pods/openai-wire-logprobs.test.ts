import { describe, expect, it } from 'vitest';
import { PodUpstreamError } from './errors.ts';
import { ChatResponseWire, CompletionResponseWire, StreamChunkWire } from './openai-wire.ts';
import { logprobsBody, logprobsOf } from './openai-wire-logprobs.ts';

const utf8 = (text: string) => [...Buffer.from(text, 'utf8')];

describe('openai wire: asking for log probabilities', () => {
  it('asks chat with logprobs and top_logprobs (0 included), completions with the legacy count', () => {
    expect(logprobsBody('chat/completions', 3)).toEqual({ logprobs: true, top_logprobs: 3 });
    expect(logprobsBody('chat/completions', 0)).toEqual({ logprobs: true, top_logprobs: 0 });
    expect(logprobsBody('completions', 2)).toEqual({ logprobs: 2 });
    expect(logprobsBody('completions', 0)).toEqual({ logprobs: 0 });
  });

  it('asks nothing when not asked', () => {
    expect(logprobsBody('chat/completions', undefined)).toEqual({});
    expect(logprobsBody('completions', undefined)).toEqual({});
  });
});

describe('openai wire: answers with and without log probabilities', () => {
  it('reads answers that have none, and keeps what an answer sends as it is, to be read when asked', () => {
    const message = { content: 'x' };
    const sent = { content: 'anything' };
    expect(ChatResponseWire.parse({ choices: [{ message }] }).choices[0]?.logprobs).toBeUndefined();
    expect(ChatResponseWire.parse({ choices: [{ message, logprobs: sent }] }).choices[0]?.logprobs).toEqual(
      sent,
    );
    expect(CompletionResponseWire.parse({ choices: [{ text: 'x' }] }).choices[0]?.logprobs).toBeUndefined();
    expect(CompletionResponseWire.parse({ choices: [{ text: 'x', logprobs: 3 }] }).choices[0]?.logprobs).toBe(
      3,
    );
    expect(StreamChunkWire.parse({ choices: [{ text: 'x' }] }).choices?.[0]?.logprobs).toBeUndefined();
    expect(StreamChunkWire.parse({ choices: [{ logprobs: null }] }).choices?.[0]?.logprobs).toBeNull();
  });
});

describe("openai wire: chat's log probabilities", () => {
  it('reads token, logprob, bytes and alternatives as sent', () => {
    const wire = {
      content: [
        {
          token: 'Hi',
          logprob: -0.25,
          bytes: [72, 105],
          top_logprobs: [
            { token: 'Hi', logprob: -0.25, bytes: [72, 105] },
            { token: 'Hello', logprob: -1.5, bytes: utf8('Hello') },
          ],
        },
      ],
      refusal: null,
    };
    expect(logprobsOf(wire, 2)).toEqual([
      {
        token: 'Hi',
        logprob: -0.25,
        bytes: [72, 105],
        top: [
          { token: 'Hi', logprob: -0.25, bytes: [72, 105] },
          { token: 'Hello', logprob: -1.5, bytes: utf8('Hello') },
        ],
      },
    ]);
  });

  it("writes -9999 for what the server could not write, and the token's UTF-8 when it sent no bytes", () => {
    const [entry] = logprobsOf(
      {
        content: [
          {
            token: ' é',
            logprob: null,
            bytes: null,
            top_logprobs: [
              { token: ' e', logprob: -3.4028234663852886e38 },
              { token: ' é', logprob: 2e-7, bytes: null },
            ],
          },
        ],
      },
      5,
    );
    expect(entry).toEqual({
      token: ' é',
      logprob: -9999,
      bytes: [32, 195, 169],
      top: [
        { token: ' é', logprob: 0, bytes: [32, 195, 169] },
        { token: ' e', logprob: -9999, bytes: [32, 101] },
      ],
    });
  });

  it('orders the alternatives most likely first and cuts them to the number asked', () => {
    const choice = (token: string, logprob: number) => ({ token, logprob, bytes: utf8(token) });
    const wire = {
      content: [
        { ...choice('b', -0.1), top_logprobs: [choice('c', -2), choice('b', -0.1), choice('a', -1)] },
      ],
    };
    expect(logprobsOf(wire, 2)[0]?.top.map((c) => c.token)).toEqual(['b', 'a']);
    expect(logprobsOf(wire, 0)[0]?.top).toEqual([]);
    // Some servers leave the alternatives out when none were asked.
    expect(logprobsOf({ content: [choice('b', -0.1)] }, 0)).toEqual([{ ...choice('b', -0.1), top: [] }]);
  });

  it("reads llama.cpp's completions, which come in chat's shape", () => {
    const wire = { content: [{ id: 17, token: 'x', logprob: -1, bytes: [120], top_logprobs: [] }] };
    expect(logprobsOf(wire, 1)).toEqual([{ token: 'x', logprob: -1, bytes: [120], top: [] }]);
  });

  it('has none when the server sent none', () => {
    expect(logprobsOf(null, 2)).toEqual([]);
    expect(logprobsOf(undefined, 2)).toEqual([]);
    expect(logprobsOf({ content: null, refusal: null }, 2)).toEqual([]);
    expect(logprobsOf({}, 2)).toEqual([]);
  });

  it('fails malformed ones, naming where', () => {
    for (const wire of [
      { content: [{ token: 'x', logprob: '-1' }] },
      { content: [{ token: 'x', logprob: -1, bytes: [300] }] },
      { content: [{ logprob: -1 }] },
      { content: [{ token: 'x', logprob: -1, top_logprobs: [{ token: 'y' }] }] },
      { content: 'x' },
      3,
    ]) {
      expect(() => logprobsOf(wire, 2)).toThrow(PodUpstreamError);
    }
    expect(() => logprobsOf({ content: [{ token: 'x', logprob: 'low' }] }, 2)).toThrow(
      /malformed log probabilities at content\[0\]\.logprob/,
    );
  });
});

describe("openai wire: completions' legacy log probabilities", () => {
  it('turns the parallel arrays into entries, the dict into alternatives most likely first, cut', () => {
    const wire = {
      tokens: [' GPU', ' node', '1'],
      token_logprobs: [-0.5, null, -0.1],
      top_logprobs: [
        { ' CPU': -2, ' TPU': -3, ' GPU': -0.5 },
        null,
        // Integer-like keys come first in a JavaScript object, whatever their logprob.
        { '2': -4, '10': -3, '1': -0.1 },
      ],
      text_offset: [7, 11, 16],
    };
    expect(logprobsOf(wire, 2)).toEqual([
      {
        token: ' GPU',
        logprob: -0.5,
        bytes: utf8(' GPU'),
        top: [
          { token: ' GPU', logprob: -0.5, bytes: utf8(' GPU') },
          { token: ' CPU', logprob: -2, bytes: utf8(' CPU') },
        ],
      },
      { token: ' node', logprob: -9999, bytes: utf8(' node'), top: [] },
      {
        token: '1',
        logprob: -0.1,
        bytes: [49],
        top: [
          { token: '1', logprob: -0.1, bytes: [49] },
          { token: '10', logprob: -3, bytes: [49, 48] },
        ],
      },
    ]);
  });

  it('keeps no alternative when 0 were asked, though the server names the sampled token', () => {
    const wire = { tokens: ['a'], token_logprobs: [-1], top_logprobs: [{ a: -1 }] };
    expect(logprobsOf(wire, 0)).toEqual([{ token: 'a', logprob: -1, bytes: [97], top: [] }]);
    expect(logprobsOf({ tokens: ['a'], token_logprobs: [-1] }, 3)[0]?.top).toEqual([]);
  });

  it('fails arrays of different lengths and malformed dicts', () => {
    expect(() => logprobsOf({ tokens: ['a', 'b'], token_logprobs: [-1] }, 1)).toThrow(
      /malformed log probabilities: tokens, token_logprobs and top_logprobs differ in length/,
    );
    expect(() =>
      logprobsOf({ tokens: ['a'], token_logprobs: [-1], top_logprobs: [{ a: -1 }, { b: -2 }] }, 1),
    ).toThrow(PodUpstreamError);
    expect(() => logprobsOf({ tokens: ['a'], token_logprobs: [-1], top_logprobs: [{ a: 'x' }] }, 1)).toThrow(
      PodUpstreamError,
    );
    expect(() => logprobsOf({ tokens: 'a', token_logprobs: [-1] }, 1)).toThrow(PodUpstreamError);
  });
});
