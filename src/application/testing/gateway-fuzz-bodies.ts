// Tests only: valid bodies for each of the gateway's routes (a few variants each), which the fuzz test
// sends as they are and mutated. Stored objects' ids are read from `known` as the test fills it in.
import { type Json, pick, type Random } from '../../protocol/testing/json-mutation.ts';

/** Ids of things that exist, so requests also reach stored objects; filled in as the test makes them. */
export interface KnownObjects {
  podId: string;
  response: string;
  conversation: string;
  job: string;
  item: string;
}

export function validBodies(known: KnownObjects) {
  const chatMessages = (): Json => [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'Hello there' }] },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    { role: 'user', content: 'And tomorrow?' },
  ];
  const weatherTool = (): Json => ({
    type: 'function',
    function: {
      name: 'weather',
      description: 'The weather of a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  });

  function chatBody(random: Random = () => 0): Json {
    const variants: Json[] = [
      { model: 'neurino-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 },
      {
        model: 'neurino-tiny',
        messages: chatMessages(),
        max_tokens: 8,
        temperature: 0.7,
        seed: 3,
        top_p: 0.9,
      },
      {
        model: 'neurino-tiny',
        messages: [{ role: 'user', content: 'weather?' }],
        tools: [weatherTool()],
        tool_choice: 'required',
        max_tokens: 24,
      },
      {
        model: 'neurino-tiny',
        messages: [{ role: 'user', content: 'json' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'a', schema: { type: 'object', properties: { n: { type: 'integer' } } } },
        },
        max_tokens: 16,
      },
      {
        model: 'neurino-tiny',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        stream_options: { include_usage: true },
        logprobs: true,
        top_logprobs: 2,
        n: 2,
        stop: ['\n'],
        logit_bias: { '5': -100 },
        presence_penalty: 0.5,
        max_completion_tokens: 6,
      },
    ];
    return pick(random, variants);
  }

  function completionBody(random: Random = () => 0): Json {
    return pick(random, [
      { model: 'neurino-tiny', prompt: 'Once upon', max_tokens: 8 },
      { model: 'neurino-tiny', prompt: ['a', 'b'], max_tokens: 4, logprobs: 2, stream: true, seed: 1 },
      { model: 'neurino-tiny', prompt: 'def f(', suffix: ')', max_tokens: 4 },
      { model: 'neurino-tiny', prompt: 'the node', echo: true, max_tokens: 0, logprobs: 1 },
    ] satisfies Json[]);
  }

  function embeddingsBody(random: Random = () => 0): Json {
    return pick(random, [
      { model: 'neurino-tiny', input: 'hello' },
      { model: 'neurino-tiny', input: ['a', 'b'], encoding_format: 'base64', dimensions: 64 },
    ] satisfies Json[]);
  }

  function responseBody(random: Random = () => 0): Json {
    return pick(random, [
      { model: 'neurino-tiny', input: 'Say hello', instructions: 'Be brief.', max_output_tokens: 8 },
      {
        model: 'neurino-tiny',
        input: [
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'weather?' }] },
          { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' },
          { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
        ],
        tools: [
          {
            type: 'function',
            name: 'weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } } },
            strict: false,
          },
        ],
        max_output_tokens: 16,
        stream: true,
      },
      {
        model: 'neurino-tiny',
        input: 'more',
        previous_response_id: known.response,
        max_output_tokens: 8,
        text: { format: { type: 'json_object' } },
        store: false,
      },
      { model: 'neurino-tiny', input: 'hi', conversation: known.conversation, max_output_tokens: 4 },
      { model: 'neurino-tiny', input: 'later', background: true, max_output_tokens: 4 },
    ] satisfies Json[]);
  }

  function conversationBody(): Json {
    return { items: [{ type: 'message', role: 'user', content: 'hello' }], metadata: { topic: 'fuzz' } };
  }

  function jobBody(random: Random = () => 0): Json {
    return pick(random, [
      {
        pod: 'neurino-tiny',
        input: { messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 },
        mode: 'async',
      },
      {
        pod: known.podId,
        input: { prompt: 'x', max_tokens: 4 },
        mode: 'sync',
        max_retries: 1,
        timeout_ms: 20_000,
      },
    ] satisfies Json[]);
  }
  return {
    chatMessages,
    weatherTool,
    chatBody,
    completionBody,
    embeddingsBody,
    responseBody,
    conversationBody,
    jobBody,
  };
}
