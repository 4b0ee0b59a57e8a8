import { describe, expect, it } from 'vitest';
import {
  choiceSeed,
  contentText,
  inputsOf,
  maxTokensOf,
  parseChatCompletionRequest,
  parseCompletionRequest,
  parseEmbeddingRequest,
  stopSequences,
} from './openai.ts';

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'tiny',
  messages: [
    { role: 'system', content: 'Be brief.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Hi ' },
        { type: 'text', text: 'there' },
      ],
    },
    { role: 'assistant', content: null },
  ],
  ...extra,
});

function failure(result: {
  ok: boolean;
  error?: { code: string; param?: string | undefined; message: string };
}) {
  if (result.ok || result.error === undefined) throw new Error('expected a failure');
  return result.error;
}

describe('chat completion requests', () => {
  it('accepts what OpenAI clients send, including nulls and unknown fields', () => {
    const parsed = parseChatCompletionRequest(
      chat({
        temperature: 0.7,
        top_p: null,
        n: 1,
        stream: true,
        stream_options: { include_usage: true },
        stop: ['\n'],
        seed: 42,
        max_completion_tokens: 64,
        user: 'u-1',
        metadata: { team: 'search' },
        tools: [],
        response_format: { type: 'text' },
      }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.metadata).toEqual({ team: 'search' });
    expect(parsed.value.messages).toHaveLength(3);
  });

  it('accepts the developer role and message names', () => {
    const parsed = parseChatCompletionRequest({
      model: 'tiny',
      messages: [
        { role: 'developer', content: 'x', name: 'ops' },
        { role: 'user', content: 'y' },
      ],
    });
    expect(parsed.ok).toBe(true);
  });

  it('refuses wrong types with the field path', () => {
    const cases: Array<[unknown, string]> = [
      [chat({ model: 5 }), 'model'],
      [chat({ model: '' }), 'model'],
      [{ messages: [{ role: 'user', content: 'x' }] }, 'model'],
      [chat({ messages: [] }), 'messages'],
      [chat({ messages: 'hi' }), 'messages'],
      [chat({ messages: [{ role: 'user', content: 5 }] }), 'messages[0].content'],
      [chat({ messages: [{ role: 'user' }] }), 'messages[0].content'],
      [chat({ messages: [{ role: 'function', content: 'x' }] }), 'messages[0].role'],
      [chat({ messages: [{ role: 'tool', content: 'x' }] }), 'messages[0].tool_call_id'],
      [chat({ messages: [{ content: 'x' }] }), 'messages[0].role'],
      [chat({ temperature: 2.5 }), 'temperature'],
      [chat({ temperature: -0.1 }), 'temperature'],
      [chat({ temperature: '1' }), 'temperature'],
      [chat({ top_p: 0 }), 'top_p'],
      [chat({ max_tokens: 0 }), 'max_tokens'],
      [chat({ max_completion_tokens: 1.5 }), 'max_completion_tokens'],
      [chat({ stream: 'yes' }), 'stream'],
      [chat({ stream: true, stream_options: { include_usage: 'yes' } }), 'stream_options.include_usage'],
      [chat({ stream_options: { include_usage: true } }), 'stream_options'],
      [chat({ stream: false, stream_options: {} }), 'stream_options'],
      [chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'],
      [chat({ seed: 1.5 }), 'seed'],
      [chat({ presence_penalty: 3 }), 'presence_penalty'],
      [chat({ user: 5 }), 'user'],
    ];
    for (const [body, param] of cases) {
      const error = failure(parseChatCompletionRequest(body));
      expect(error.code, param).toBe('invalid_request');
      expect(error.param, JSON.stringify(body).slice(0, 200)).toBe(param);
      expect(error.message.startsWith(`${param}: `)).toBe(true);
    }
  });

  it('refuses non-text content parts clearly', () => {
    const body = chat({
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
    });
    const error = failure(parseChatCompletionRequest(body));
    expect(error.param).toBe('messages[0].content[0].type');
    expect(error.message).toMatch(/only text content parts are supported/);
  });

  it("takes truncation 'auto' or 'disabled' (the Responses API's, also on chat), nothing else", () => {
    for (const truncation of ['auto', 'disabled', null]) {
      const parsed = parseChatCompletionRequest(chat({ truncation }));
      expect(parsed.ok && parsed.value.truncation).toBe(truncation);
    }
    const wrong = parseChatCompletionRequest(chat({ truncation: 'middle' }));
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.error).toMatchObject({ code: 'invalid_request', param: 'truncation' });
  });

  it('takes n from 1 to 16 choices, and says the limit', () => {
    for (const n of [null, 1, 2, 16]) expect(parseChatCompletionRequest(chat({ n })).ok).toBe(true);
    for (const n of [0, 17, 1.5]) {
      const error = failure(parseChatCompletionRequest(chat({ n })));
      expect(error).toMatchObject({ code: 'invalid_request', param: 'n' });
    }
    expect(failure(parseChatCompletionRequest(chat({ n: 17 }))).message).toMatch(/16/);
    expect(choiceSeed(undefined, 1)).toBeUndefined();
    expect([0, 1, 2].map((choice) => choiceSeed(7, choice))).toEqual([7, 8, 9]);
    expect(choiceSeed(Number.MAX_SAFE_INTEGER, 1)).toBe(Number.MAX_SAFE_INTEGER - 1);
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, 'x', [], 42]) expect(parseChatCompletionRequest(body).ok).toBe(false);
  });
});

describe('completion requests', () => {
  it('takes a prompt string or a list of strings', () => {
    expect(parseCompletionRequest({ model: 'm', prompt: 'Once' }).ok).toBe(true);
    expect(parseCompletionRequest({ model: 'm', prompt: ['a', 'b'], max_tokens: 16, echo: false }).ok).toBe(
      true,
    );
  });

  it('refuses other prompts', () => {
    expect(failure(parseCompletionRequest({ model: 'm', prompt: 5 })).param).toBe('prompt');
    expect(failure(parseCompletionRequest({ model: 'm', prompt: [] })).param).toBe('prompt');
    expect(failure(parseCompletionRequest({ model: 'm', prompt: ['a', 7] })).param).toBe('prompt[1]');
    expect(failure(parseCompletionRequest({ model: 'm' })).param).toBe('prompt');
    expect(failure(parseCompletionRequest({ model: 'm', prompt: 'x', n: 30 })).param).toBe('n');
  });

  it('takes stream_options only with stream: true, as OpenAI does', () => {
    const options = { stream_options: { include_usage: true } };
    expect(parseCompletionRequest({ model: 'm', prompt: 'x', stream: true, ...options }).ok).toBe(true);
    expect(parseCompletionRequest({ model: 'm', prompt: 'x', stream_options: null }).ok).toBe(true);
    const alone = failure(parseCompletionRequest({ model: 'm', prompt: 'x', ...options }));
    expect(alone).toMatchObject({ code: 'invalid_request', param: 'stream_options' });
    expect(alone.message).toBe('stream_options: allowed only with stream: true');
  });

  it('takes echo, and max_tokens 0 (the prompt alone) only with it', () => {
    const base = { model: 'm', prompt: 'Once' };
    expect(parseCompletionRequest({ ...base, echo: true, logprobs: 1, max_tokens: 0 }).ok).toBe(true);
    expect(parseCompletionRequest({ ...base, echo: true, stream: true, n: 2 }).ok).toBe(true);
    const alone = failure(parseCompletionRequest({ ...base, max_tokens: 0 }));
    expect(alone).toMatchObject({ code: 'invalid_request', param: 'max_tokens' });
    expect(alone.message).toMatch(/only with echo/);
    expect(failure(parseCompletionRequest({ ...base, echo: false, max_tokens: 0 })).param).toBe('max_tokens');
    expect(failure(parseCompletionRequest({ ...base, echo: true, max_tokens: -1 })).param).toBe('max_tokens');
    expect(failure(parseCompletionRequest({ ...base, echo: 'yes' })).param).toBe('echo');
    const filled = failure(parseCompletionRequest({ ...base, echo: true, suffix: 'end' }));
    expect(filled).toMatchObject({ param: 'echo', message: expect.stringMatching(/suffix/) });
    expect(parseCompletionRequest({ ...base, echo: true, suffix: '' }).ok).toBe(true);
    // A chat has no echo: max_tokens 0 stays refused there.
    expect(failure(parseChatCompletionRequest(chat({ max_tokens: 0 }))).param).toBe('max_tokens');
  });

  it("takes prompts of token ids (the pod model's own), one list or a batch of them", () => {
    const ids = (prompt: unknown) => {
      const parsed = parseCompletionRequest({ model: 'm', prompt });
      return parsed.ok ? inputsOf(parsed.value.prompt) : failure(parsed);
    };
    expect(ids([1, 2, 3])).toEqual([[1, 2, 3]]);
    expect(ids([[1, 2], [3]])).toEqual([[1, 2], [3]]);
    // A list read as far as it goes: ids wrong at [1], strings wrong at [1].
    expect(failure(parseCompletionRequest({ model: 'm', prompt: [1, 'a'] }))).toMatchObject({
      param: 'prompt[1]',
      message: expect.stringMatching(/number/),
    });
    expect(failure(parseCompletionRequest({ model: 'm', prompt: ['a', 1] }))).toMatchObject({
      param: 'prompt[1]',
      message: expect.stringMatching(/string/),
    });
    // Neither half text, half ids, nor ids that are not whole and non-negative, nor an empty list.
    for (const prompt of [['a', [1]], [1, 'a'], [1.5], [-1], [[1], []], [[]]]) {
      const error = failure(parseCompletionRequest({ model: 'm', prompt }));
      expect(error.code, JSON.stringify(prompt)).toBe('invalid_request');
      expect(error.param, JSON.stringify(prompt)).toMatch(/^prompt/);
    }
  });
});

describe('embedding requests', () => {
  it('takes a string or list of strings and an encoding format', () => {
    expect(parseEmbeddingRequest({ model: 'm', input: 'x' }).ok).toBe(true);
    expect(parseEmbeddingRequest({ model: 'm', input: ['x', 'y'], encoding_format: 'base64' }).ok).toBe(true);
  });

  it('refuses bad inputs and formats', () => {
    expect(failure(parseEmbeddingRequest({ model: 'm', input: [] })).param).toBe('input');
    expect(failure(parseEmbeddingRequest({ model: 'm', input: ['x', 2] })).param).toBe('input[1]');
    expect(parseEmbeddingRequest({ model: 'm', input: [1, 2] }).ok).toBe(true);
    expect(parseEmbeddingRequest({ model: 'm', input: [[1, 2], [3]] }).ok).toBe(true);
    expect(failure(parseEmbeddingRequest({ model: 'm', input: [[1, 2], ['x']] })).param).toMatch(/^input/);
    expect(failure(parseEmbeddingRequest({ model: 'm', input: 'x', encoding_format: 'int8' })).param).toBe(
      'encoding_format',
    );
    expect(failure(parseEmbeddingRequest({ model: 'm', input: Array(2049).fill('x') })).param).toBe('input');
    expect(failure(parseEmbeddingRequest({ model: 'm', input: 'x', dimensions: 0 })).param).toBe(
      'dimensions',
    );
  });
});

describe('request helpers', () => {
  it('contentText joins text parts', () => {
    expect(contentText('a')).toBe('a');
    expect(
      contentText([
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b' },
      ]),
    ).toBe('ab');
    expect(contentText(null)).toBe('');
    expect(contentText(undefined)).toBe('');
  });

  it('maxTokensOf prefers max_completion_tokens', () => {
    expect(maxTokensOf({ max_tokens: 10, max_completion_tokens: 20 })).toBe(20);
    expect(maxTokensOf({ max_tokens: 10, max_completion_tokens: null })).toBe(10);
    expect(maxTokensOf({})).toBeUndefined();
  });

  it('stopSequences and inputsOf normalise to lists', () => {
    expect(stopSequences('x')).toEqual(['x']);
    expect(stopSequences(['a', ''])).toEqual(['a']);
    expect(stopSequences(null)).toEqual([]);
    expect(inputsOf('x')).toEqual(['x']);
    expect(inputsOf(['x', 'y'])).toEqual(['x', 'y']);
  });
});
