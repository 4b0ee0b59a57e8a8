import { describe, expect, it } from 'vitest';
import { jobWork } from './job-input.ts';

describe('jobWork', () => {
  it('turns an OpenAI chat body into the runtime request', () => {
    const checked = jobWork('chat', {
      model: 'neurino-tiny',
      messages: [
        {
          role: 'developer',
          content: [
            { type: 'text', text: 'be ' },
            { type: 'text', text: 'brief' },
          ],
        },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: null },
      ],
      max_tokens: 100,
      max_completion_tokens: 8,
      temperature: 0,
      seed: 7,
      stop: ['', 'END'],
      top_p: null,
      presence_penalty: 0.5,
      stream: true,
    });
    expect(checked).toEqual({
      ok: true,
      work: {
        kind: 'chat',
        n: 1,
        requests: [
          {
            model: 'neurino-tiny',
            max_tokens: 8,
            temperature: 0,
            seed: 7,
            stop: ['END'],
            presence_penalty: 0.5,
            messages: [
              { role: 'developer', content: 'be brief' },
              { role: 'user', content: 'hi' },
              { role: 'assistant', content: '' },
            ],
          },
        ],
      },
    });
  });

  it('passes a JSON response format as the runtime takes it: the schema itself, or any JSON', () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } } };
    const chat = (response_format: unknown) =>
      jobWork('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], response_format });
    const requestOf = (checked: ReturnType<typeof jobWork>) =>
      checked.ok && checked.work.kind === 'chat' ? checked.work.requests[0] : undefined;
    expect(requestOf(chat({ type: 'json_schema', json_schema: { name: 'a', schema } }))).toMatchObject({
      response_format: { type: 'json_schema', schema },
    });
    expect(requestOf(chat({ type: 'json_schema', json_schema: { name: 'a' } }))).toMatchObject({
      response_format: { type: 'json_object' },
    });
    expect(requestOf(chat({ type: 'json_object' }))).toMatchObject({
      response_format: { type: 'json_object' },
    });
    expect(requestOf(chat({ type: 'text' }))).not.toHaveProperty('response_format');
    // A node checks what the router sent: a format the gateway would refuse is refused here too.
    expect(chat({ type: 'json_schema' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request', param: 'response_format.json_schema' },
    });
    expect(
      jobWork('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], functions: [{}] }),
    ).toMatchObject({
      ok: false,
      error: { code: 'unsupported_parameter', param: 'functions' },
    });
  });

  it('makes one runtime request per prompt of a completion', () => {
    const checked = jobWork('completion', { model: 'm', prompt: ['a', 'b'], max_tokens: 4 });
    expect(checked.ok && checked.work).toEqual({
      kind: 'completion',
      n: 1,
      requests: [
        { model: 'm', max_tokens: 4, prompt: 'a' },
        { model: 'm', max_tokens: 4, prompt: 'b' },
      ],
    });
  });

  it("hands each prompt's request the completion's suffix and the logit bias", () => {
    const body = { model: 'm', prompt: ['a', 'b'], suffix: 'z', logit_bias: { '3': 1 } };
    const checked = jobWork('completion', body);
    expect(checked.ok && checked.work.kind === 'completion' && checked.work.requests).toEqual([
      { model: 'm', prompt: 'a', suffix: 'z', logit_bias: { '3': 1 } },
      { model: 'm', prompt: 'b', suffix: 'z', logit_bias: { '3': 1 } },
    ]);
    const chat = jobWork('chat', {
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      logit_bias: { '3': 1 },
    });
    expect(chat.ok && chat.work.kind === 'chat' && chat.work.requests[0]).toMatchObject({
      logit_bias: { '3': 1 },
    });
  });

  it('asks the runtime once per choice, seeded apart, prompt by prompt', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'x' }], n: 3, seed: 10 };
    const chat = jobWork('chat', body);
    expect(chat.ok && chat.work).toMatchObject({ kind: 'chat', n: 3 });
    expect(chat.ok && chat.work.kind === 'chat' && chat.work.requests.map((r) => r.seed)).toEqual([
      10, 11, 12,
    ]);
    const unseeded = jobWork('chat', { ...body, seed: undefined });
    expect(unseeded.ok && unseeded.work.kind === 'chat' && unseeded.work.requests).toHaveLength(3);
    const completion = jobWork('completion', { model: 'm', prompt: ['a', 'b'], n: 2, seed: 1 });
    expect(
      completion.ok &&
        completion.work.kind === 'completion' &&
        completion.work.requests.map((r) => [r.prompt, r.seed]),
    ).toEqual([
      ['a', 1],
      ['a', 2],
      ['b', 1],
      ['b', 2],
    ]);
  });

  it("hands the runtime the log probabilities asked, in each kind's fields, streamed or not", () => {
    const messages = [{ role: 'user', content: 'x' }];
    const chat = jobWork('chat', { model: 'm', messages, logprobs: true, top_logprobs: 3 });
    expect(chat.ok && chat.work.kind === 'chat' && chat.work.requests[0]).toMatchObject({
      logprobs: true,
      top_logprobs: 3,
    });
    const plain = jobWork('chat', { model: 'm', messages, logprobs: false, top_logprobs: 0 });
    expect(plain.ok && plain.work.kind === 'chat' && plain.work.requests[0]).not.toHaveProperty('logprobs');
    const legacy = jobWork('completion', { model: 'm', prompt: 'a', logprobs: 0 });
    expect(legacy.ok && legacy.work.kind === 'completion' && legacy.work.requests[0]).toMatchObject({
      logprobs: 0,
    });
    for (const [kind, input] of [
      ['chat', { model: 'm', messages, logprobs: true }],
      ['completion', { model: 'm', prompt: 'a', logprobs: 2 }],
    ] as const) {
      expect(jobWork(kind, input).ok).toBe(true);
    }
  });

  it('passes embeddings inputs and the requested dimensions', () => {
    const checked = jobWork('embeddings', { model: 'm', input: 'x', dimensions: 64 });
    expect(checked.ok && checked.work).toEqual({
      kind: 'embeddings',
      request: { model: 'm', input: 'x', dimensions: 64 },
      dimensions: 64,
    });
  });

  it('hands the runtime the tools, the choice and the calls and results of the conversation', () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } };
    const checked = jobWork('chat', {
      model: 'm',
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'done' }] },
      ],
      tools: [{ type: 'function', function: { name: 'f', strict: true } }],
      tool_choice: 'required',
    });
    expect(checked).toMatchObject({
      ok: true,
      work: {
        n: 1,
        requests: [
          {
            tools: [{ type: 'function', function: { name: 'f' } }],
            tool_choice: 'required',
            messages: [
              { role: 'user', content: 'x' },
              { role: 'assistant', content: '', tool_calls: [call] },
              { role: 'tool', content: 'done', tool_call_id: 'call_1' },
            ],
          },
        ],
      },
    });
  });

  it.each([
    ['chat', { model: 'm' }, 'messages'],
    ['chat', { model: 'm', messages: [] }, 'messages'],
    ['chat', { model: 'm', messages: [{ role: 'function', content: 'x' }] }, 'messages[0].role'],
    ['chat', { model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id'],
    ['chat', { model: 'm', messages: [{ role: 'user', content: 3 }] }, 'messages[0].content'],
    ['chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 9 }, 'temperature'],
    ['completion', { model: 'm', prompt: 5 }, 'prompt'],
    ['embeddings', { model: 'm', input: [] }, 'input'],
    ['embeddings', { input: 'x' }, 'model'],
  ] as const)('refuses a bad %s body, naming the field', (kind, input, param) => {
    const checked = jobWork(kind, input);
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.error.retryable).toBe(false);
      expect(checked.error.param).toBe(param);
    }
  });

  it('refuses input that is not an object at all', () => {
    for (const input of [null, 'text', 42, []]) expect(jobWork('chat', input).ok).toBe(false);
  });

  it('refuses generic jobs: LLM pods have no generic entry point', () => {
    const checked = jobWork('generic', { anything: true });
    expect(!checked.ok && checked.error.code).toBe('unsupported_parameter');
  });
});
