import { describe, expect, it } from 'vitest';
import { parseChatCompletionRequest, parseCompletionRequest } from './openai.ts';
import { podResponseFormat } from './openai-features.ts';

const chat = (extra: Record<string, unknown>) => ({
  model: 'tiny',
  messages: [{ role: 'user', content: 'Hi' }],
  ...extra,
});
const completion = (extra: Record<string, unknown>) => ({ model: 'tiny', prompt: 'Once', ...extra });

type Parsed =
  | { ok: true }
  | { ok: false; error: { code: string; param?: string | undefined; message: string } };

function refusal(result: Parsed) {
  if (result.ok) throw new Error('expected a refusal');
  return { code: result.error.code, param: result.error.param, message: result.error.message };
}

describe('chat fields the pods cannot honour', () => {
  it.each([
    [{ functions: [{ name: 'f' }] }, 'functions', /deprecated.*send tools/],
    [{ function_call: { name: 'f' } }, 'function_call', /deprecated.*send tools/],
    [{ audio: { voice: 'alloy', format: 'wav' } }, 'audio', /audio/],
    [{ modalities: ['text', 'audio'] }, 'modalities', /text modality/],
    [{ prediction: { type: 'content', content: 'x' } }, 'prediction', /predicted/],
    [{ web_search_options: {} }, 'web_search_options', /web search/],
  ])('refuses %j as unsupported_parameter', (extra, param, message) => {
    const error = refusal(parseChatCompletionRequest(chat(extra)));
    expect(error).toMatchObject({ code: 'unsupported_parameter', param });
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${param}: `)).toBe(true);
  });

  it('lets their neutral values through, as SDKs send defaults', () => {
    const neutral = chat({
      logprobs: false,
      top_logprobs: null,
      tools: [],
      tool_choice: 'none',
      functions: null,
      function_call: 'auto',
      logit_bias: {},
      audio: null,
      modalities: ['text'],
      prediction: null,
      parallel_tool_calls: true,
      store: false,
      metadata: { team: 'a' },
      user: 'u1',
    });
    expect(parseChatCompletionRequest(neutral).ok).toBe(true);
  });

  it('still checks their types', () => {
    expect(refusal(parseChatCompletionRequest(chat({ logprobs: 'yes' })))).toMatchObject({
      code: 'invalid_request',
      param: 'logprobs',
    });
    expect(refusal(parseChatCompletionRequest(chat({ top_logprobs: 99 })))).toMatchObject({
      code: 'invalid_request',
      param: 'top_logprobs',
    });
  });

  it('takes log probabilities, alternatives only with logprobs: true, and not on a stream', () => {
    expect(parseChatCompletionRequest(chat({ logprobs: true, top_logprobs: 20 })).ok).toBe(true);
    expect(parseChatCompletionRequest(chat({ logprobs: false, top_logprobs: 0 })).ok).toBe(true);
    expect(refusal(parseChatCompletionRequest(chat({ top_logprobs: 3 })))).toMatchObject({
      code: 'invalid_request',
      param: 'top_logprobs',
      message: 'top_logprobs: top_logprobs needs logprobs: true',
    });
    expect(refusal(parseChatCompletionRequest(chat({ logprobs: true, top_logprobs: 21 })))).toMatchObject({
      code: 'invalid_request',
      param: 'top_logprobs',
    });
  });

  it('names the limit of stop sequences', () => {
    const error = refusal(parseChatCompletionRequest(chat({ stop: ['a', 'b', 'c', 'd', 'e'] })));
    expect(error).toMatchObject({ code: 'invalid_request', param: 'stop' });
    expect(error.message).toMatch(/at most 4 strings/);
  });
});

describe('completion fields the pods cannot honour', () => {
  it.each([[{ response_format: { type: 'json_object' } }, 'response_format']])(
    'refuses %j as unsupported_parameter',
    (extra, param) => {
      expect(refusal(parseCompletionRequest(completion(extra)))).toMatchObject({
        code: 'unsupported_parameter',
        param,
      });
    },
  );

  it('lets their neutral values through', () => {
    const neutral = completion({
      logprobs: null,
      echo: false,
      suffix: '',
      best_of: 1,
      logit_bias: null,
      response_format: { type: 'text' },
    });
    expect(parseCompletionRequest(neutral).ok).toBe(true);
  });

  it('takes best_of from n to 16, not streamed', () => {
    expect(parseCompletionRequest(completion({ best_of: 3, n: 2 })).ok).toBe(true);
    expect(parseCompletionRequest(completion({ best_of: 16 })).ok).toBe(true);
    for (const [extra, message] of [
      [{ best_of: 2, n: 3 }, 'best_of must be at least n'],
      [{ best_of: 3, n: 4 }, 'best_of must be at least n'],
      [{ best_of: 2, stream: true }, 'best_of cannot be streamed'],
      [{ best_of: 17 }, 'Too big'],
      [{ best_of: 0 }, 'Too small'],
    ] as const) {
      const error = refusal(parseCompletionRequest(completion(extra)));
      expect(error, JSON.stringify(extra)).toMatchObject({ code: 'invalid_request', param: 'best_of' });
      expect(error.message).toContain(message);
    }
    // best_of 1 streams as any request does; without best_of, n choices are all answered.
    expect(parseCompletionRequest(completion({ best_of: 1, stream: true })).ok).toBe(true);
    expect(parseCompletionRequest(completion({ n: 3, stream: true })).ok).toBe(true);
    expect(parseCompletionRequest(completion({ n: 3, best_of: 1 })).ok).toBe(true);
  });

  it('takes the legacy logprobs, 0 to 5 alternatives', () => {
    expect(parseCompletionRequest(completion({ logprobs: 0 })).ok).toBe(true);
    expect(parseCompletionRequest(completion({ logprobs: 5 })).ok).toBe(true);
    expect(refusal(parseCompletionRequest(completion({ logprobs: 6 })))).toMatchObject({
      code: 'invalid_request',
      param: 'logprobs',
    });
  });
});

describe('response_format', () => {
  const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };

  it('takes text, json_object and json_schema', () => {
    for (const format of [
      { type: 'text' },
      { type: 'json_object' },
      { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
      { type: 'json_schema', json_schema: { name: 'any-json' } },
      null,
    ]) {
      expect(parseChatCompletionRequest(chat({ response_format: format })).ok).toBe(true);
    }
  });

  it('refuses an unknown type, a missing or bad name and a schema that is not an object', () => {
    expect(refusal(parseChatCompletionRequest(chat({ response_format: { type: 'yaml' } })))).toMatchObject({
      code: 'invalid_request',
      param: 'response_format.type',
    });
    const named = (json_schema: unknown) =>
      refusal(parseChatCompletionRequest(chat({ response_format: { type: 'json_schema', json_schema } })));
    expect(named({ schema })).toMatchObject({ param: 'response_format.json_schema.name' });
    expect(named({ name: 'has space', schema }).message).toMatch(/letters, digits/);
    expect(named({ name: 'a', schema: [1] })).toMatchObject({ param: 'response_format.json_schema.schema' });
    expect(refusal(parseChatCompletionRequest(chat({ response_format: 'json' })))).toMatchObject({
      param: 'response_format',
    });
  });

  it('reaches the pod as JSON, held to the schema when there is one', () => {
    expect(podResponseFormat(undefined)).toBeUndefined();
    expect(podResponseFormat(null)).toBeUndefined();
    expect(podResponseFormat({ type: 'text' })).toBeUndefined();
    expect(podResponseFormat({ type: 'json_object' })).toEqual({ type: 'json_object' });
    expect(podResponseFormat({ type: 'json_schema', json_schema: { name: 'a', schema } })).toEqual({
      type: 'json_schema',
      schema,
    });
    expect(podResponseFormat({ type: 'json_schema', json_schema: { name: 'a' } })).toEqual({
      type: 'json_object',
    });
  });
});
