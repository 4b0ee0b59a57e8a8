// Tests only: the requests the gateway's fuzz test sends. The valid bodies of every route
// (gateway-fuzz-bodies.ts), their seeded mutations, and valid requests that combine optional fields.
// Stored objects' ids are read from `known` as the test fills it in.
import { type Json, mutate, pick, type Random } from '../../protocol/testing/json-mutation.ts';
import { type KnownObjects, validBodies } from './gateway-fuzz-bodies.ts';

export interface FuzzRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  body?: Json;
  /** Sent as is instead of `body` (broken JSON, bytes). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export function fuzzRequests(known: KnownObjects) {
  const {
    chatMessages,
    weatherTool,
    chatBody,
    completionBody,
    embeddingsBody,
    responseBody,
    conversationBody,
    jobBody,
  } = validBodies(known);

  const ID_JUNK = ['x', '%00', '..%2F..%2Fetc', 'resp_', 'job_0', '0x', 'A'.repeat(300), '%F0%9F%99%82'];
  const QUERY_JUNK = [
    'limit=0',
    'limit=101',
    'limit=-1',
    'limit=abc',
    'after=x',
    'order=up',
    'stream=maybe',
    'starting_after=-1',
    'starting_after=1e9',
    'include[]=x',
    'limit=5&limit=6',
    'a=%ZZ',
    '',
  ];

  /** A mutated request to one of the routes. */
  function fuzzCase(random: Random): FuzzRequest {
    const id = (real: string) => (random() < 0.5 ? real : pick(random, ID_JUNK));
    const query = () => (random() < 0.6 ? `?${pick(random, QUERY_JUNK)}` : '');
    const posts: Array<[string, () => Json]> = [
      ['/v1/chat/completions', () => chatBody(random)],
      ['/v1/chat/completions', () => chatBody(random)],
      ['/v1/completions', () => completionBody(random)],
      ['/v1/embeddings', () => embeddingsBody(random)],
      ['/v1/responses', () => responseBody(random)],
      ['/v1/responses', () => responseBody(random)],
      ['/v1/jobs', () => jobBody(random)],
      ['/v1/conversations', conversationBody],
      [
        `/v1/conversations/${id(known.conversation)}/items`,
        () => ({ items: [{ role: 'user', content: 'hi' }] }),
      ],
      [`/v1/conversations/${id(known.conversation)}`, () => ({ metadata: { a: 'b' } })],
    ];
    const roll = random();
    if (roll < 0.8) {
      const [url, base] = pick(random, posts);
      const request: FuzzRequest = { method: 'POST', url, body: mutate(base(), random) };
      const extra = random();
      if (extra < 0.05) request.raw = JSON.stringify(base()).slice(0, Math.floor(random() * 40));
      else if (extra < 0.08)
        request.raw = Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256)));
      else if (extra < 0.1) request.raw = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
      else if (extra < 0.13)
        request.headers = {
          'content-type': pick(random, [
            'text/plain',
            'application/x-www-form-urlencoded',
            'application/json; charset=latin1',
          ]),
        };
      else if (extra < 0.2) {
        request.headers = {
          [pick(random, ['x-neurino-max-retries', 'x-neurino-timeout-ms', 'idempotency-key'])]: pick(random, [
            '-1',
            '0',
            '1',
            '1e3',
            'abc',
            '99999999999',
            ' ',
            'é',
          ]),
        };
      }
      return request;
    }
    const reads: FuzzRequest[] = [
      { method: 'GET', url: `/v1/jobs${query()}` },
      { method: 'GET', url: `/v1/jobs/${id(known.job)}` },
      { method: 'POST', url: `/v1/jobs/${id(known.job)}/cancel` },
      { method: 'GET', url: `/v1/responses/${id(known.response)}${query()}` },
      { method: 'GET', url: `/v1/responses/${id(known.response)}/input_items${query()}` },
      { method: 'POST', url: `/v1/responses/${id(known.response)}/cancel` },
      { method: 'GET', url: `/v1/conversations/${id(known.conversation)}/items${query()}` },
      { method: 'GET', url: `/v1/conversations/${id(known.conversation)}/items/${id(known.item)}` },
      { method: 'DELETE', url: `/v1/conversations/${id(known.conversation)}/items/${pick(random, ID_JUNK)}` },
      { method: 'GET', url: `/v1/receipts/${pick(random, ID_JUNK)}` },
      { method: 'GET', url: `/v1/models/${pick(random, ID_JUNK)}` },
      { method: 'GET', url: `/v1/credits${query()}` },
    ];
    return pick(random, reads);
  }

  /** Some of `options`' fields, each with one of its values: a valid request's optional parts, combined. */
  function someOf(random: Random, options: Record<string, readonly Json[]>): Record<string, Json> {
    const chosen: Record<string, Json> = {};
    for (const [field, values] of Object.entries(options)) {
      if (values.length > 0 && random() < 0.35) chosen[field] = pick(random, values);
    }
    return chosen;
  }

  const JSON_SCHEMA_FORMAT: Json = {
    type: 'json_schema',
    json_schema: {
      name: 'answer',
      strict: true,
      schema: {
        type: 'object',
        properties: {
          n: { type: 'integer' },
          tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 2 },
        },
        required: ['n', 'tags'],
        additionalProperties: false,
      },
    },
  };

  /** Text a caller may send that storage may not hold as is: U+0000, half a surrogate pair. */
  const ODD_TEXT = 'odd \u0000 text \ud800 end';

  /** A valid request combining optional fields: every one must run (or be refused as documented). */
  function validCase(random: Random): FuzzRequest {
    const sampling = {
      temperature: [0, 0.7, 2],
      top_p: [0.1, 1],
      seed: [1, 42],
      presence_penalty: [-2, 1.5],
      frequency_penalty: [0.5],
      stop: ['\n', ['.', 'e']],
      logit_bias: [{ '5': -100 }, { '10': 100 }],
      user: ['someone'],
      metadata: [{ tag: 'fuzz' }],
    };
    const roll = random();
    if (roll < 0.45) {
      const tools = random() < 0.3;
      const body: Record<string, Json> = {
        model: 'neurino-tiny',
        messages: pick(random, [
          [{ role: 'user', content: 'Hello' }],
          [{ role: 'user', content: ODD_TEXT }],
          chatMessages(),
        ]),
        ...someOf(random, {
          ...sampling,
          max_tokens: [1, 6],
          max_completion_tokens: [4],
          n: [1, 2, 3],
          stream: [true, false],
          stream_options: [{ include_usage: true }],
          logprobs: [true, false],
          response_format: tools ? [] : [{ type: 'json_object' }, JSON_SCHEMA_FORMAT, { type: 'text' }],
        }),
      };
      if (body.stream !== true) delete body.stream_options;
      if (body.logprobs === true && random() < 0.5) body.top_logprobs = pick(random, [0, 3]);
      if (body.max_tokens === undefined && body.max_completion_tokens === undefined) body.max_tokens = 8;
      if (body.response_format !== undefined && body.response_format !== null) body.max_tokens = 48;
      if (tools) {
        body.tools = [weatherTool()];
        body.tool_choice = pick(random, [
          'auto',
          'required',
          'none',
          { type: 'function', function: { name: 'weather' } },
        ]);
        if (random() < 0.5) body.parallel_tool_calls = pick(random, [true, false]);
        body.max_tokens = 48;
      }
      if (random() < 0.25) {
        // The same chat through the jobs API, which answers whole.
        const { model: _model, stream: _stream, stream_options: _options, ...input } = body;
        const mode = pick(random, ['sync', 'async']);
        const headers: Record<string, string> =
          random() < 0.3 ? { 'idempotency-key': `fuzz-${Math.floor(random() * 1e9)}` } : {};
        return { method: 'POST', url: '/v1/jobs', body: { pod: 'neurino-tiny', input, mode }, headers };
      }
      return { method: 'POST', url: '/v1/chat/completions', body };
    }
    if (roll < 0.65) {
      const body: Record<string, Json> = {
        model: 'neurino-tiny',
        // Text, or token ids of the tiny model (BOS first, or not).
        prompt: pick(random, [
          'Once upon',
          ['a', 'b c'],
          [1, 70, 80],
          [
            [1, 70],
            [90, 91, 92],
          ],
        ]),
        max_tokens: pick(random, [1, 5]),
        ...someOf(random, {
          ...sampling,
          n: [1, 2],
          stream: [true, false],
          logprobs: [0, 2],
          echo: [true, false],
          best_of: [1, 2, 3],
        }),
      };
      delete body.metadata;
      // The prompt alone, scored (an evaluation harness's request).
      if (body.echo === true && random() < 0.3) body.max_tokens = 0;
      // best_of picks among finished choices: not streamed.
      if (typeof body.best_of === 'number' && body.best_of > 1) delete body.stream;
      return { method: 'POST', url: '/v1/completions', body };
    }
    if (roll < 0.75) {
      return {
        method: 'POST',
        url: '/v1/embeddings',
        body: {
          model: 'neurino-tiny',
          input: pick(random, ['one', ['one', 'two', 'three'], [70, 80], [[70], [80, 90]]]),
          ...someOf(random, { encoding_format: ['float', 'base64'], dimensions: [64], user: ['someone'] }),
        },
      };
    }
    if (roll < 0.82) {
      return {
        method: 'POST',
        url: '/v1/conversations',
        body: {
          items: [{ role: 'user', content: pick(random, ['hi', ODD_TEXT]) }],
          metadata: { topic: ODD_TEXT },
        },
      };
    }
    const body: Record<string, Json> = {
      model: 'neurino-tiny',
      input: pick(random, ['Say hello', ODD_TEXT, [{ role: 'user', content: 'hi' }]]),
      max_output_tokens: 8,
      ...someOf(random, {
        instructions: ['Be brief.', ODD_TEXT],
        conversation: [known.conversation],
        temperature: [0, 1],
        top_p: [0.5],
        stream: [true, false],
        store: [true, false],
        background: [true],
        metadata: [{ tag: 'fuzz' }],
        text: [{ format: { type: 'json_object' } }, { format: { type: 'text' } }],
        truncation: ['auto', 'disabled'],
      }),
    };
    if (body.background === true) body.store = true;
    // The conversation grows with every case: its oldest turns make room.
    if (body.conversation !== undefined) body.truncation = 'auto';
    if (body.text !== undefined) body.max_output_tokens = 48;
    return { method: 'POST', url: '/v1/responses', body };
  }

  return { responseBody, conversationBody, jobBody, mutated: fuzzCase, valid: validCase };
}
