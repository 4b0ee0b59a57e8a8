import { describe, expect, it } from 'vitest';
import { parseJobOutput } from './job-output.ts';

describe('parseJobOutput', () => {
  it('accepts each kind in its documented shape', () => {
    expect(parseJobOutput('chat', { text: 'hi', finishReason: 'stop', tokenIds: [1, 2] })).toEqual({
      ok: true,
      value: { text: 'hi', finishReason: 'stop', tokenIds: [1, 2] },
    });
    expect(parseJobOutput('completion', { choices: [{ text: 'a', finishReason: 'length' }] }).ok).toBe(true);
    expect(parseJobOutput('embeddings', { embeddings: [[0.6, 0.8]] }).ok).toBe(true);
    const two = {
      choices: [
        { text: 'a', finishReason: 'stop' },
        { text: 'b', finishReason: 'length' },
      ],
    };
    expect(parseJobOutput('chat', two)).toEqual({ ok: true, value: two });
  });

  it('passes generic output through', () => {
    expect(parseJobOutput('generic', [1, 'two'])).toEqual({ ok: true, value: [1, 'two'] });
  });

  it.each([
    ['chat', { text: 'hi' }, 'finishReason'],
    ['chat', { choices: [{ text: 'a', finishReason: 'stop' }] }, 'choices'],
    ['chat', { choices: [{ text: 'a', finishReason: 'stop' }, { text: 'b' }] }, 'choices[1].finishReason'],
    ['chat', { text: 1, finishReason: 'stop' }, 'text'],
    ['chat', { text: 'hi', finishReason: 'tool_calls' }, 'toolCalls'],
    [
      'chat',
      { text: 'hi', finishReason: 'stop', toolCalls: [{ id: 'c', name: 'f', arguments: '{}' }] },
      'toolCalls',
    ],
    [
      'chat',
      { text: '', finishReason: 'tool_calls', toolCalls: [{ id: 'c', name: 'f g', arguments: '{}' }] },
      'toolCalls[0].name',
    ],
    [
      'chat',
      { text: 'a', finishReason: 'stop', logprobs: [{ token: 'a', logprob: 0.5, bytes: [97], top: [] }] },
      'logprobs[0].logprob',
    ],
    [
      'completion',
      {
        choices: [
          { text: 'a', finishReason: 'stop', logprobs: [{ token: 'a', logprob: -1, bytes: [256], top: [] }] },
        ],
      },
      'choices[0].logprobs[0].bytes[0]',
    ],
    ['chat', { text: 'hi', finishReason: 'cancelled' }, 'finishReason'],
    ['chat', { text: 'hi', finishReason: 'stop', tokenIds: [-1] }, 'tokenIds[0]'],
    ['completion', { choices: [] }, 'choices'],
    ['embeddings', { embeddings: [['x']] }, 'embeddings[0][0]'],
    ['embeddings', null, ''],
  ] as const)('refuses a bad %s output as a retryable bad_result', (kind, output, param) => {
    const parsed = parseJobOutput(kind, output);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error).toMatchObject({ code: 'bad_result', retryable: true });
      expect(parsed.error.param ?? '').toBe(param);
    }
  });
});
