import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NeurinoError } from './errors.ts';
import { newApiId } from './ids.ts';
import {
  chatCompletion,
  chatCompletionChunk,
  chatCompletionToolCallsChunk,
  chatCompletionUsageChunk,
  embeddingFromBase64,
  embeddingList,
  embeddingToBase64,
  modelList,
  SSE_DONE,
  sseEvent,
  textCompletion,
  textCompletionChunk,
  wholeCallDeltas,
} from './openai-responses.ts';

const CREATED = 1_700_000_000;
const usage = { inputTokens: 7, outputTokens: 3 };

describe('response builders', () => {
  it('chatCompletion has OpenAI’s exact shape', () => {
    expect(
      chatCompletion({
        id: 'chatcmpl-1',
        model: 'tiny',
        created: CREATED,
        content: 'Hi',
        finishReason: 'stop',
        usage,
      }),
    ).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: CREATED,
      model: 'tiny',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hi', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    });
  });

  it('chunks carry usage: null only when usage was asked for', () => {
    const base = { id: 'c', model: 'm', created: CREATED };
    expect(chatCompletionChunk({ ...base, delta: { content: 'x' } })).not.toHaveProperty('usage');
    expect(chatCompletionChunk({ ...base, delta: { content: 'x' }, includeUsage: true }).usage).toBeNull();
    expect(
      chatCompletionChunk({ ...base, delta: {}, finishReason: 'length' }).choices[0]?.finish_reason,
    ).toBe('length');
    const last = chatCompletionUsageChunk({ ...base, usage });
    expect(last.choices).toEqual([]);
    expect(last.usage?.total_tokens).toBe(10);
  });

  it('tool calls: content null when the model said nothing first, and a chunk of whole calls', () => {
    const base = { id: 'c', model: 'm', created: CREATED };
    const toolCalls = [
      { id: 'call_1', name: 'f', arguments: '{"a":1}' },
      { id: 'call_2', name: 'g', arguments: '{}' },
    ];
    const silent = chatCompletion({ ...base, content: '', finishReason: 'tool_calls', usage, toolCalls });
    expect(silent.choices[0]?.message).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
        { id: 'call_2', type: 'function', function: { name: 'g', arguments: '{}' } },
      ],
    });
    expect(silent.choices[0]?.finish_reason).toBe('tool_calls');
    const said = chatCompletion({
      ...base,
      content: 'Checking.',
      finishReason: 'tool_calls',
      usage,
      toolCalls,
    });
    expect(said.choices[0]?.message.content).toBe('Checking.');
    expect(chatCompletion({ ...base, content: '', finishReason: 'stop', usage }).choices[0]?.message).toEqual(
      {
        role: 'assistant',
        content: '',
        refusal: null,
      },
    );
    const deltas = wholeCallDeltas(toolCalls);
    const chunk = chatCompletionToolCallsChunk({ ...base, deltas, includeUsage: true });
    expect(chunk.usage).toBeNull();
    expect(chunk.choices[0]?.delta.tool_calls?.map((c) => [c.index, c.id, c.function?.name])).toEqual([
      [0, 'call_1', 'f'],
      [1, 'call_2', 'g'],
    ]);
  });

  it("tool call pieces: the first names the call, later ones carry only arguments, as OpenAI's", () => {
    const base = { id: 'c', model: 'm', created: CREATED };
    const first = chatCompletionToolCallsChunk({
      ...base,
      deltas: [{ index: 1, id: 'call_2', name: 'g', arguments: '' }],
    });
    expect(first.choices[0]?.delta).toEqual({
      tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'g', arguments: '' } }],
    });
    const later = chatCompletionToolCallsChunk({ ...base, deltas: [{ index: 1, arguments: '{"a":' }] });
    expect(later.choices[0]?.delta).toEqual({ tool_calls: [{ index: 1, function: { arguments: '{"a":' } }] });
  });

  it('created defaults to now in unix seconds', () => {
    const built = chatCompletion({ id: 'x', model: 'm', content: '', finishReason: 'stop', usage });
    expect(Math.abs(built.created - Date.now() / 1000)).toBeLessThan(5);
  });

  it('textCompletion numbers its choices', () => {
    const built = textCompletion({
      id: 'cmpl-1',
      model: 'm',
      created: CREATED,
      choices: [
        { text: 'a', finishReason: 'stop' },
        { text: 'b', finishReason: 'length' },
      ],
      usage,
    });
    expect(built.object).toBe('text_completion');
    expect(built.choices.map((c) => [c.index, c.text, c.finish_reason, c.logprobs])).toEqual([
      [0, 'a', 'stop', null],
      [1, 'b', 'length', null],
    ]);
    const chunk = textCompletionChunk({ id: 'cmpl-1', model: 'm', created: CREATED, text: 'x' });
    expect(chunk.choices[0]?.finish_reason).toBeNull();
  });

  it('embeddings as floats or little-endian float32 base64', () => {
    const vectors = [
      [0.5, -1, 2],
      [0, 0.25, 1e-3],
    ];
    const floats = embeddingList({ model: 'e', embeddings: vectors, inputTokens: 4 });
    expect(floats).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -1, 2] },
        { object: 'embedding', index: 1, embedding: [0, 0.25, 1e-3] },
      ],
      model: 'e',
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
    const base64 = embeddingList({
      model: 'e',
      embeddings: vectors,
      inputTokens: 4,
      encodingFormat: 'base64',
    });
    expect(base64.data[0]?.embedding).toBe(
      Buffer.from([0, 0, 0, 0x3f, 0, 0, 0x80, 0xbf, 0, 0, 0, 0x40]).toString('base64'),
    );
    expect(embeddingFromBase64(embeddingToBase64([0.5, -1, 2]))).toEqual([0.5, -1, 2]);
    expect(() => embeddingFromBase64('AAA=')).toThrow(NeurinoError);
  });

  it('modelList and SSE framing', () => {
    expect(modelList([{ id: 'tiny', created: CREATED, ownedBy: 'neurino' }])).toEqual({
      object: 'list',
      data: [{ id: 'tiny', object: 'model', created: CREATED, owned_by: 'neurino' }],
    });
    expect(sseEvent({ a: 1 })).toBe('data: {"a":1}\n\n');
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
  });
});

/** The official OpenAI client, against a real HTTP server answering with the builders' output. */
describe('the OpenAI SDK parses what the builders produce', () => {
  let server: Server;
  let client: OpenAI;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        const request = body === '' ? {} : JSON.parse(body);
        const json = (value: unknown) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(value));
        };
        const id = newApiId('chatCompletion');
        if (req.url === '/v1/chat/completions' && request.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const envelope = { id, model: request.model, includeUsage: true };
          res.write(
            sseEvent(chatCompletionChunk({ ...envelope, delta: { role: 'assistant', content: '' } })),
          );
          for (const piece of ['Hel', 'lo'])
            res.write(sseEvent(chatCompletionChunk({ ...envelope, delta: { content: piece } })));
          res.write(sseEvent(chatCompletionChunk({ ...envelope, delta: {}, finishReason: 'stop' })));
          res.write(sseEvent(chatCompletionUsageChunk({ id, model: request.model, usage })));
          res.end(SSE_DONE);
        } else if (req.url === '/v1/chat/completions') {
          json(chatCompletion({ id, model: request.model, content: 'Hello', finishReason: 'stop', usage }));
        } else if (req.url === '/v1/completions') {
          json(
            textCompletion({
              id: newApiId('completion'),
              model: request.model,
              choices: [{ text: 'Hi', finishReason: 'length' }],
              usage,
            }),
          );
        } else if (req.url === '/v1/embeddings') {
          const inputs: string[] = typeof request.input === 'string' ? [request.input] : request.input;
          const embeddings = inputs.map((text) => [text.length, 0.5, -0.25]);
          json(
            embeddingList({
              model: request.model,
              embeddings,
              inputTokens: 3,
              encodingFormat: request.encoding_format,
            }),
          );
        } else if (req.url === '/v1/models') {
          json(modelList([{ id: 'tiny', created: CREATED, ownedBy: 'neurino' }]));
        } else {
          res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new OpenAI({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('chat completion', async () => {
    const answer = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(answer.choices[0]?.message.content).toBe('Hello');
    expect(answer.usage?.total_tokens).toBe(10);
    expect(answer.id).toMatch(/^chatcmpl-/);
  });

  it('streamed chat completion with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let total = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      total = chunk.usage?.total_tokens ?? total;
    }
    expect(text).toBe('Hello');
    expect(finish).toBe('stop');
    expect(total).toBe(10);
  });

  it('the SDK’s stream helper assembles the final message', async () => {
    const stream = client.chat.completions.stream({
      model: 'tiny',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe('Hello');
  });

  it('completion', async () => {
    const answer = await client.completions.create({ model: 'tiny', prompt: 'x' });
    expect(answer.choices[0]?.text).toBe('Hi');
    expect(answer.choices[0]?.finish_reason).toBe('length');
  });

  it('embeddings, float and the SDK’s default base64', async () => {
    const floats = await client.embeddings.create({
      model: 'e',
      input: ['abcd', 'ab'],
      encoding_format: 'float',
    });
    expect(floats.data.map((d) => d.embedding)).toEqual([
      [4, 0.5, -0.25],
      [2, 0.5, -0.25],
    ]);
    // Without encoding_format the SDK asks for base64 and decodes it itself.
    const decoded = await client.embeddings.create({ model: 'e', input: 'abc' });
    expect(decoded.data[0]?.embedding).toEqual([3, 0.5, -0.25]);
  });

  it('models', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual(['tiny']);
  });
});
