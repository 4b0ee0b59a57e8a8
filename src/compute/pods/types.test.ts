import { describe, expect, it } from 'vitest';
import { PodBadRequestError } from './errors.ts';
import { parseChatRequest, parseCompletionRequest, parseEmbeddingRequest } from './types.ts';

describe('request parsing', () => {
  it('normalizes chat messages: developer is system, text parts are joined', () => {
    const { messages } = parseChatRequest({
      messages: [
        { role: 'developer', content: 'be brief' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hel' },
            { type: 'text', text: 'lo' },
          ],
        },
        { role: 'assistant', content: 'hi' },
      ],
    });
    expect(messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'hi' },
    ]);
  });

  it('reads sampling fields, with max_completion_tokens winning and null meaning unset', () => {
    const { sampling } = parseCompletionRequest({
      prompt: 'p',
      max_tokens: 10,
      max_completion_tokens: 4,
      temperature: null,
      top_p: 0.5,
      seed: -3,
      stop: 'END',
      presence_penalty: 0.5,
      frequency_penalty: null,
    });
    expect(sampling).toEqual({
      maxTokens: 4,
      temperature: undefined,
      topP: 0.5,
      seed: -3,
      stop: ['END'],
      presencePenalty: 0.5,
      frequencyPenalty: undefined,
    });
    expect(parseCompletionRequest({ prompt: '' }).sampling).toEqual({
      maxTokens: undefined,
      temperature: undefined,
      topP: undefined,
      seed: undefined,
      stop: [],
      presencePenalty: undefined,
      frequencyPenalty: undefined,
    });
    expect(() => parseCompletionRequest({ prompt: 'p', frequency_penalty: 2.5 })).toThrow(
      expect.objectContaining({ param: 'frequency_penalty' }),
    );
  });

  it('reads a chat response format: JSON, held to a schema when there is one', () => {
    const messages = [{ role: 'user' as const, content: 'x' }];
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } } };
    expect(parseChatRequest({ messages }).sampling.responseFormat).toBeUndefined();
    expect(
      parseChatRequest({ messages, response_format: { type: 'json_object' } }).sampling.responseFormat,
    ).toEqual({ type: 'json_object' });
    expect(
      parseChatRequest({ messages, response_format: { type: 'json_schema', schema } }).sampling
        .responseFormat,
    ).toEqual({ type: 'json_schema', schema });
    expect(() => parseChatRequest({ messages, response_format: { type: 'json_schema' } })).toThrow(
      expect.objectContaining({ param: 'response_format.schema' }),
    );
  });

  it('accepts one embedding input or a list', () => {
    expect(parseEmbeddingRequest({ input: 'a' })).toEqual({ inputs: ['a'] });
    expect(parseEmbeddingRequest({ input: ['a', 'b'], model: 'x' })).toEqual({ inputs: ['a', 'b'] });
  });

  it('names the failing field in the error and its param', () => {
    try {
      parseChatRequest({ messages: [{ role: 'user', content: 'x' }, { role: 'user' }] });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PodBadRequestError);
      expect((error as PodBadRequestError).param).toBe('messages[1].content');
      expect((error as PodBadRequestError).message).toMatch(/^messages\[1\]\.content: /);
    }
    expect(() => parseEmbeddingRequest(null)).toThrow(PodBadRequestError);
    expect(() => parseCompletionRequest({ prompt: 'x', stop: ['a', 7] })).toThrow(PodBadRequestError);
  });
});
