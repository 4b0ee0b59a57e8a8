// The small pure parts of a request: the bearer token, the pod it names, and the input sent to nodes.
import { describe, expect, it } from 'vitest';
import { PodCatalog } from '../../orchestration/router/pod-catalog.ts';
import {
  parseChatCompletionRequest,
  parseCompletionRequest,
  parseEmbeddingRequest,
} from '../../protocol/openai.ts';
import { podId } from '../../protocol/pod-spec.ts';
import { testPodSpec } from '../testing/gateway-harness.ts';
import { bearerToken } from './auth.ts';
import { answerFor } from './error-handler.ts';
import { chatInput, completionInput, embeddingInput } from './pod-input.ts';
import { jobKindFor, modelFor, podFor } from './pod-lookup.ts';

const value = <T>(r: { ok: true; value: T } | { ok: false }) => {
  if (!r.ok) throw new Error('fixture must parse');
  return r.value;
};

describe('bearerToken', () => {
  it('reads the token in any case of the scheme', () => {
    expect(bearerToken('Bearer nrn_abc')).toBe('nrn_abc');
    expect(bearerToken('bearer  nrn_abc ')).toBe('nrn_abc');
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('  ')).toBeUndefined();
  });

  it.each(['Basic abc', 'Bearer', 'Bearer a b', 'nrn_abc', 'Bearer\nnrn_abc'])(
    'refuses %j as invalid_api_key',
    (header) => {
      expect(() => bearerToken(header)).toThrow(
        expect.objectContaining({ code: 'invalid_api_key', status: 401 }),
      );
    },
  );
});

describe('pod lookup', () => {
  const chatOnly = testPodSpec({ name: 'chatty', kinds: ['chat'] });
  const generic = testPodSpec({ name: 'prover', runtime: 'process', kinds: ['generic'] });
  const llm = testPodSpec();
  const catalog = new PodCatalog([chatOnly, generic, llm]);

  it('finds a model by name or pod id, and refuses kinds it does not serve', () => {
    expect(modelFor(catalog, 'chatty', 'chat').podId).toBe(podId(chatOnly));
    expect(modelFor(catalog, podId(llm).toUpperCase().replace('0X', '0x'), 'embeddings').spec.name).toBe(
      'test-llm',
    );
    expect(() => modelFor(catalog, 'nope', 'chat')).toThrow(
      expect.objectContaining({ code: 'model_not_found', param: 'model' }),
    );
    expect(() => modelFor(catalog, 'chatty', 'embeddings')).toThrow(
      expect.objectContaining({ code: 'unsupported_parameter', param: 'model' }),
    );
    expect(() => podFor(catalog, '0x1234')).toThrow(
      expect.objectContaining({ code: 'pod_not_found', param: 'pod' }),
    );
  });

  it('picks the kind of a jobs API request', () => {
    expect(jobKindFor(catalog.byModel('prover') ?? fail(), { anything: 1 })).toBe('generic');
    expect(jobKindFor(catalog.byModel('chatty') ?? fail(), 'text')).toBe('chat');
    const entry = catalog.byModel('test-llm') ?? fail();
    expect(jobKindFor(entry, { messages: [] })).toBe('chat');
    expect(jobKindFor(entry, { prompt: 'x' })).toBe('completion');
    expect(jobKindFor(entry, { input: 'x' })).toBe('embeddings');
    for (const input of [null, 'text', [1], { other: 1 }]) {
      expect(() => jobKindFor(entry, input)).toThrow(
        expect.objectContaining({ code: 'invalid_request', param: 'input' }),
      );
    }
  });
});

describe('node inputs', () => {
  it('normalises chat content parts, nulls and stop strings', () => {
    const request = value(
      parseChatCompletionRequest({
        model: 'm',
        messages: [
          {
            role: 'system',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
          { role: 'assistant', content: null },
        ],
        max_tokens: 5,
        max_completion_tokens: 7,
        temperature: null,
        stop: 'END',
        seed: 3,
      }),
    );
    expect(chatInput(request)).toEqual({
      input: {
        model: 'm',
        max_tokens: 7,
        seed: 3,
        stop: ['END'],
        messages: [
          { role: 'system', content: 'ab' },
          { role: 'assistant', content: '' },
        ],
      },
      count: 1,
    });
  });

  it("passes truncation 'auto' on to the node, and 'disabled' (the default) not at all", () => {
    const input = (truncation: string) =>
      chatInput(
        value(
          parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], truncation }),
        ),
      ).input;
    expect(input('auto')).toMatchObject({ truncation: 'auto' });
    expect(input('disabled')).not.toHaveProperty('truncation');
  });

  it('passes parallel_tool_calls false on to the node with the tools, and true (the default) not at all', () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    const input = (parallel_tool_calls: boolean) =>
      chatInput(
        value(
          parseChatCompletionRequest({
            model: 'm',
            messages: [{ role: 'user', content: 'x' }],
            tools,
            parallel_tool_calls,
          }),
        ),
      ).input;
    expect(input(false)).toMatchObject({ tools, tool_choice: 'auto', parallel_tool_calls: false });
    expect(input(true)).not.toHaveProperty('parallel_tool_calls');
  });

  it("passes the penalties and a JSON response format on, in OpenAI's shape", () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } } };
    const request = value(
      parseChatCompletionRequest({
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        presence_penalty: 0.5,
        frequency_penalty: -1,
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
      }),
    );
    expect(chatInput(request).input).toEqual({
      model: 'm',
      presence_penalty: 0.5,
      frequency_penalty: -1,
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    });
    const plain = value(
      parseChatCompletionRequest({
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'text' },
      }),
    );
    expect(chatInput(plain).input).not.toHaveProperty('response_format');
  });

  it('sends several prompts as a list, one as itself, streamed or not', () => {
    for (const stream of [false, true]) {
      const { input, count, nodeLogprobs } = completionInput(
        value(parseCompletionRequest({ model: 'm', prompt: ['a', 'b'], n: 2, stream })),
      );
      expect({ input, count, nodeLogprobs }).toEqual({
        input: { model: 'm', prompt: ['a', 'b'], n: 2 },
        count: 4,
        nodeLogprobs: false,
      });
      expect(
        completionInput(value(parseCompletionRequest({ model: 'm', prompt: ['a'], stream }))).input,
      ).toEqual({
        model: 'm',
        prompt: 'a',
      });
    }
  });

  it("sends a completion's suffix (fill in the middle) and its logit bias, and nothing for empty ones", () => {
    const ask = { model: 'm', prompt: 'def f():', suffix: '  return 1', logit_bias: { '7': -100 } };
    expect(completionInput(value(parseCompletionRequest(ask))).input).toEqual(ask);
    const empty = { model: 'm', prompt: 'x', suffix: '', logit_bias: {} };
    expect(completionInput(value(parseCompletionRequest(empty))).input).toEqual({ model: 'm', prompt: 'x' });
  });

  it('counts embedding inputs and passes the dimensions asked to the node (whose model decides)', () => {
    expect(embeddingInput(value(parseEmbeddingRequest({ model: 'm', input: ['a', 'b', 'c'] }))).count).toBe(
      3,
    );
    expect(embeddingInput(value(parseEmbeddingRequest({ model: 'm', input: 'a', dimensions: 3 })))).toEqual({
      input: { model: 'm', input: 'a', dimensions: 3 },
      count: 1,
    });
  });
});

describe('answerFor', () => {
  it('maps Fastify and unknown errors without leaking internals', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    expect(answerFor(tooLarge)).toMatchObject({ status: 413, error: { code: 'payload_too_large' } });
    const media = Object.assign(new Error('Unsupported Media Type'), {
      code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      statusCode: 415,
    });
    expect(answerFor(media)).toMatchObject({ status: 415, error: { code: 'unsupported_media_type' } });
    const secret = answerFor(new Error('password=hunter2 in connection string'));
    expect(secret).toMatchObject({
      status: 500,
      error: { code: 'internal_error', message: 'Internal error' },
    });
    expect(answerFor('a string')).toMatchObject({ status: 500, error: { code: 'internal_error' } });
  });
});

function fail(): never {
  throw new Error('missing catalog entry');
}
