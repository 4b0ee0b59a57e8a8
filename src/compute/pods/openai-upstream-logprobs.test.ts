// The openai-upstream runtime relaying log probabilities, against a scripted server answering as vLLM
// does: chat in `logprobs.content`, completions in the legacy parallel arrays, per chunk when streamed.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { PodError } from './errors.ts';
import { OpenAIUpstreamRuntime } from './openai-upstream.ts';
import { weatherTool } from './testing/weather-tool.ts';
import type { ChatRequest, GenerationResult, TokenLogprob } from './types.ts';

/** What the server answers on one endpoint: a whole answer's choice, and the choices of its chunks. */
interface Script {
  readonly whole: object;
  readonly chunks: readonly object[];
}

const servers: Server[] = [];

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

/** A loaded runtime on a server answering by script, and the bodies it was sent. */
async function upstreamAnswering(chat: Script, completion: Script) {
  const bodies: Array<Record<string, unknown>> = [];
  const server = createServer((request, response) => {
    if (request.url === '/v1/models') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ data: [{ id: 'm' }] }));
      return;
    }
    void readBody(request).then((body) => {
      bodies.push(body);
      const script = request.url === '/v1/completions' ? completion : chat;
      if (body.stream !== true) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ model: 'm', choices: [{ index: 0, ...script.whole }] }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const choice of script.chunks) {
        response.write(`data: ${JSON.stringify({ model: 'm', choices: [{ index: 0, ...choice }] })}\n\n`);
      }
      response.end('data: [DONE]\n\n');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const runtime = new OpenAIUpstreamRuntime({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' });
  await runtime.load();
  return { runtime, bodies };
}

const bytes = (text: string) => [...Buffer.from(text, 'utf8')];
const choice = (token: string, logprob: number) => ({ token, logprob, bytes: bytes(token) });

// Chat: 'Hi é', two tokens; three alternatives each, the second token's logprob unwritable.
const hiEntry = {
  ...choice('Hi', -0.25),
  top_logprobs: [choice('Hi', -0.25), choice('Hello', -1.5), choice('Hey', -2)],
};
const eEntry = { token: ' é', logprob: null, bytes: null, top_logprobs: [choice(' é', -0.01)] };
const chatLogprobs: TokenLogprob[] = [
  { ...choice('Hi', -0.25), top: [choice('Hi', -0.25), choice('Hello', -1.5)] },
  { token: ' é', logprob: -9999, bytes: [32, 195, 169], top: [choice(' é', -0.01)] },
];
const chatScript: Script = {
  whole: {
    message: { role: 'assistant', content: 'Hi é' },
    logprobs: { content: [hiEntry, eEntry], refusal: null },
    finish_reason: 'stop',
  },
  chunks: [
    { delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
    { delta: { content: 'Hi' }, logprobs: { content: [hiEntry] }, finish_reason: null },
    { delta: { content: ' é' }, logprobs: { content: [eEntry] }, finish_reason: null },
    { delta: {}, logprobs: null, finish_reason: 'stop' },
  ],
};

// Completions: ' GPU node', the legacy dict unordered and longer than asked.
const completionScript: Script = {
  whole: {
    text: ' GPU node',
    logprobs: {
      tokens: [' GPU', ' node'],
      token_logprobs: [-0.5, -0.75],
      top_logprobs: [
        { ' CPU': -2, ' GPU': -0.5, ' TPU': -3 },
        { ' pod': -1, ' node': -0.75 },
      ],
      text_offset: [7, 11],
    },
    finish_reason: 'length',
  },
  chunks: [
    {
      text: ' GPU',
      logprobs: {
        tokens: [' GPU'],
        token_logprobs: [-0.5],
        top_logprobs: [{ ' CPU': -2, ' GPU': -0.5, ' TPU': -3 }],
        text_offset: [7],
      },
      finish_reason: null,
    },
    {
      text: ' node',
      logprobs: {
        tokens: [' node'],
        token_logprobs: [-0.75],
        top_logprobs: [{ ' pod': -1, ' node': -0.75 }],
        text_offset: [11],
      },
      finish_reason: 'length',
    },
  ],
};
const completionLogprobs: TokenLogprob[] = [
  { ...choice(' GPU', -0.5), top: [choice(' GPU', -0.5), choice(' CPU', -2)] },
  { ...choice(' node', -0.75), top: [choice(' node', -0.75), choice(' pod', -1)] },
];

/** The scripts with every `logprobs` left out, as a server that ignores the request's fields answers. */
function withoutLogprobs(script: Script): Script {
  const strip = ({ logprobs: _, ...rest }: { logprobs?: unknown }) => rest;
  return { whole: strip(script.whole), chunks: script.chunks.map(strip) };
}

const hello: ChatRequest = { messages: [{ role: 'user', content: 'hello' }] };
const streamed = { onDelta: () => {} };

async function failure(promise: Promise<GenerationResult>): Promise<PodError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PodError);
  expect(error).toMatchObject({ podCode: 'pod_upstream_error', code: 'node_failed', retryable: true });
  return error as PodError;
}

describe('openai-upstream runtime: log probabilities', () => {
  it('asks for them only when asked: chat with logprobs and top_logprobs, completions with the count', async () => {
    const { runtime, bodies } = await upstreamAnswering(chatScript, completionScript);
    await runtime.chat(hello);
    await runtime.complete({ prompt: 'the', max_tokens: 2 });
    await runtime.chat({ ...hello, logprobs: true, top_logprobs: 2 });
    await runtime.chat({ ...hello, logprobs: true }, streamed);
    await runtime.complete({ prompt: 'the', max_tokens: 2, logprobs: 2 });
    await runtime.complete({ prompt: 'the', logprobs: 0 }, streamed);
    expect(bodies).toEqual([
      { model: 'm', messages: [{ role: 'user', content: 'hello' }], stream: false },
      { model: 'm', prompt: 'the', max_tokens: 2, stream: false },
      {
        model: 'm',
        messages: [{ role: 'user', content: 'hello' }],
        logprobs: true,
        top_logprobs: 2,
        stream: false,
      },
      {
        model: 'm',
        messages: [{ role: 'user', content: 'hello' }],
        logprobs: true,
        top_logprobs: 0,
        stream: true,
        stream_options: { include_usage: true },
      },
      { model: 'm', prompt: 'the', max_tokens: 2, logprobs: 2, stream: false },
      { model: 'm', prompt: 'the', logprobs: 0, stream: true, stream_options: { include_usage: true } },
    ]);
  });

  it("relays a whole chat's, and a whole completion's legacy ones sorted and cut to the number asked", async () => {
    const { runtime } = await upstreamAnswering(chatScript, completionScript);
    expect(await runtime.chat({ ...hello, logprobs: true, top_logprobs: 2 })).toEqual({
      model: 'm',
      text: 'Hi é',
      finishReason: 'stop',
      usage: null,
      logprobs: chatLogprobs,
    });
    const completion = await runtime.complete({ prompt: 'the', logprobs: 2 });
    expect(completion).toMatchObject({ text: ' GPU node', finishReason: 'length' });
    expect(completion.logprobs).toEqual(completionLogprobs);
    const bare = await runtime.complete({ prompt: 'the', logprobs: 0 });
    expect(bare.logprobs?.map((entry) => entry.top)).toEqual([[], []]);
  });

  it("gathers a stream's from its chunks, in order, each piece's passed on with it", async () => {
    const { runtime } = await upstreamAnswering(chatScript, completionScript);
    const deltas: string[] = [];
    const pieces: Array<readonly TokenLogprob[] | undefined> = [];
    const chat = await runtime.chat(
      { ...hello, logprobs: true, top_logprobs: 2 },
      {
        onDelta: (d, logprobs) => {
          deltas.push(d);
          pieces.push(logprobs);
        },
      },
    );
    expect(deltas).toEqual(['Hi', ' é']);
    expect(pieces.flatMap((piece) => piece ?? [])).toEqual(chatLogprobs);
    expect(pieces.every((piece) => piece !== undefined && piece.length > 0)).toBe(true);
    expect(chat).toEqual({
      model: 'm',
      text: 'Hi é',
      finishReason: 'stop',
      usage: null,
      logprobs: chatLogprobs,
    });
    const completion = await runtime.complete({ prompt: 'the', logprobs: 2 }, streamed);
    expect(completion.text).toBe(' GPU node');
    expect(completion.logprobs).toEqual(completionLogprobs);
  });

  it('leaves them off the result when not asked, whatever the upstream sent', async () => {
    const malformed = { content: 'not logprobs' };
    const odd: Script = {
      whole: { ...chatScript.whole, logprobs: malformed },
      chunks: chatScript.chunks.map((chunk) => ({ ...chunk, logprobs: malformed })),
    };
    for (const script of [chatScript, odd]) {
      const { runtime } = await upstreamAnswering(script, completionScript);
      const results = [
        await runtime.chat(hello),
        await runtime.chat(hello, streamed),
        await runtime.complete({ prompt: 'the' }),
        await runtime.complete({ prompt: 'the' }, streamed),
      ];
      for (const result of results) expect(result).not.toHaveProperty('logprobs');
    }
  });

  it('fails, retryably, an answer without the ones asked for, streamed or not', async () => {
    const { runtime } = await upstreamAnswering(
      withoutLogprobs(chatScript),
      withoutLogprobs(completionScript),
    );
    const asked = { ...hello, logprobs: true, top_logprobs: 1 };
    const error = await failure(runtime.chat(asked));
    expect(error.message).toMatch(
      /^Upstream http:\/\/127\.0\.0\.1:\d+\/v1 answered without the log probabilities asked for$/,
    );
    await failure(runtime.chat(asked, streamed));
    await failure(runtime.complete({ prompt: 'the', logprobs: 1 }));
    await failure(runtime.complete({ prompt: 'the', logprobs: 1 }, streamed));
    const nulled: Script = { whole: { ...chatScript.whole, logprobs: null }, chunks: [] };
    const { runtime: nulling } = await upstreamAnswering(nulled, completionScript);
    await failure(nulling.chat(asked));
  });

  it('fails, retryably, malformed ones when asked', async () => {
    const malformed: Script = {
      whole: { ...chatScript.whole, logprobs: { content: [{ token: 'Hi', logprob: 'high' }] } },
      chunks: [{ delta: { content: 'Hi' }, logprobs: { content: [{ token: 'Hi' }] }, finish_reason: 'stop' }],
    };
    const uneven: Script = {
      whole: { text: 'x', logprobs: { tokens: ['x', 'y'], token_logprobs: [-1] }, finish_reason: 'stop' },
      chunks: [],
    };
    const { runtime } = await upstreamAnswering(malformed, uneven);
    const asked = { ...hello, logprobs: true };
    expect((await failure(runtime.chat(asked))).message).toContain('malformed log probabilities');
    expect((await failure(runtime.chat(asked, streamed))).message).toContain('malformed log probabilities');
    expect((await failure(runtime.complete({ prompt: 'x', logprobs: 1 }))).message).toContain(
      'differ in length',
    );
  });

  it('asks nothing more of an answer of calls only, which has no text for them to cover', async () => {
    const call = { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } };
    const callsOnly: Script = {
      whole: { message: { content: null, tool_calls: [call] }, logprobs: null, finish_reason: 'tool_calls' },
      chunks: [],
    };
    const { runtime } = await upstreamAnswering(callsOnly, completionScript);
    const result = await runtime.chat({ ...hello, tools: [weatherTool], logprobs: true });
    expect(result).toMatchObject({ text: '', finishReason: 'tool_calls', logprobs: [] });
  });
});
