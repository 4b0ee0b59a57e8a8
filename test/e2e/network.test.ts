// The compute network end to end, every part a real process on loopback: the official `openai` client
// against the gateway, miners serving the tiny model over WebSocket, credits charged once, receipts
// settled on-chain in batches across a router restart, and the failure paths (dead miner, no miner,
// bad input, unregistered node).
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { formatEther, getAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerDatabaseDir } from '../../src/application/router-process.ts';
import { DEV_ROLES, devAccount, devPrivateKey, devRoleAccount } from '../../src/chain/dev-accounts.ts';
import { embeddedChainPaths } from '../../src/chain/embedded-chain.ts';
import { computeCreditsAbi, settlementAbi, stakedNeurinoAbi } from '../../src/chain/generated/index.ts';
import { ensureApiKey } from '../../src/cli/devnet/api-key.ts';
import { spawnNeurino, waitFor } from '../../src/cli/devnet/child-process.ts';
import type { Devnet } from '../../src/cli/devnet/network.ts';
import { readDevnetFile } from '../../src/cli/devnet-file.ts';
import { weatherTool } from '../../src/compute/pods/testing/weather-tool.ts';
import { CreditLedger } from '../../src/orchestration/metering/credit-ledger.ts';
import { openStore } from '../../src/orchestration/store/open-store.ts';
import { checkReceiptAudit, parseReceiptAudit } from '../../src/protocol/receipt-audit.ts';
import { type StoreTarget, storeBackends } from '../support/postgres.ts';
import { creditsOf, expectChainMatchesReceipts } from './settlement-check.ts';
import { startTestDevnet } from './test-devnet.ts';

const MODEL = 'neurino-tiny';
const NEURINO_BIN = new URL('../../bin/neurino.js', import.meta.url).pathname;
// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field below
type Json = Record<string, any>;
describe.each(storeBackends())('on $kind', (backend) => {
  let dataDir: string;
  let target: StoreTarget;
  let devnet: Devnet;
  let client: OpenAI;
  let creditsBefore: bigint;
  /** Jobs charged (succeeded, or cancelled after work): each must leave exactly one receipt, nothing else may. */
  let succeeded = 0;
  /** The first chat completion's id: its receipt is audited once settled. */
  let firstChatId = '';
  let unfundedKey: string;

  async function health(): Promise<{ nodes: { connected: number }; jobs: { inFlight: number } }> {
    const response = await fetch(`${devnet.gatewayUrl}/health`);
    return (await response.json()) as { nodes: { connected: number }; jobs: { inFlight: number } };
  }

  const routerDir = () => join(dataDir, 'router');

  async function post(path: string, body: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${devnet.gatewayUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${devnet.apiKey}`, 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  /** `neurino <args>` as a user runs it: its output and exit code. */
  function runNeurino(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [NEURINO_BIN, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
      });
    });
  }

  beforeAll(async () => {
    // Settle only when the router stops, so the test controls when batches happen.
    ({ dataDir, target, devnet } = await startTestDevnet(backend, 'e2e', [
      '--batch-size',
      '1000',
      '--batch-delay-ms',
      '3600000',
    ]));
    // A client set up from what the devnet wrote down, as a developer's script would.
    const written = await readDevnetFile(dataDir);
    expect(written).toMatchObject({
      gatewayUrl: devnet.gatewayUrl,
      baseUrl: `${devnet.gatewayUrl}/v1`,
      apiKey: devnet.apiKey,
      rpcUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      chainId: 31337,
      contracts: { settlement: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/) },
    });
    client = new OpenAI({ baseURL: written?.baseUrl, apiKey: written?.apiKey, maxRetries: 0 });
    creditsBefore = await creditsOf(devnet, devnet.developer);
  }, 180_000);

  afterAll(async () => {
    await devnet?.stop();
    await target?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  describe('the network end to end', () => {
    it('lets a web page call the API with its key (the preflight needs none)', async () => {
      const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://localhost:5173',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
    });

    it('serves a chat completion to the official openai client with real usage', async () => {
      const completion = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hello there' }],
        max_tokens: 24,
        seed: 7,
      });
      succeeded++;
      firstChatId = completion.id;
      // Its receipt is there the moment the answer is (journaled, or already stored).
      const receipt = await fetch(`${devnet.gatewayUrl}/v1/receipts/${completion.id}`, {
        headers: { authorization: `Bearer ${devnet.apiKey}` },
      });
      expect(receipt.status).toBe(200);
      const audit = (await receipt.json()) as Json;
      expect(['journaled', 'unbatched']).toContain(audit.settlement.status);
      expect(completion.object).toBe('chat.completion');
      expect(completion.model).toBe(MODEL);
      const choice = completion.choices[0];
      expect(typeof choice?.message.content).toBe('string');
      expect(['stop', 'length']).toContain(choice?.finish_reason);
      const usage = completion.usage;
      expect(usage?.prompt_tokens).toBeGreaterThan(0);
      expect(usage?.completion_tokens).toBeGreaterThan(0);
      expect(usage?.completion_tokens).toBeLessThanOrEqual(24);
      expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
    });

    it('keeps a conversation on the node holding its context: each later turn mostly cached, and paid as such', async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: 'system', content: 'You answer questions about GPU clouds. '.repeat(4) },
        { role: 'user', content: 'What is a pod?' },
      ];
      const nodes: string[] = [];
      let before = 0;
      for (const question of ['Who runs it?', 'Who pays?', undefined]) {
        const answer = await client.chat.completions.create({
          model: MODEL,
          messages,
          max_tokens: 6,
          seed: 1,
        });
        succeeded++;
        const usage = answer.usage;
        // The node's slot held the earlier turns (and the answer it wrote), evaluated once.
        if (before > 0)
          expect(usage?.prompt_tokens_details?.cached_tokens ?? 0).toBeGreaterThanOrEqual(before);
        before = usage?.prompt_tokens ?? 0;
        const receipt = await fetch(`${devnet.gatewayUrl}/v1/receipts/${answer.id}`, {
          headers: { authorization: `Bearer ${devnet.apiKey}` },
        });
        nodes.push(((await receipt.json()) as Json).receipt.node);
        if (question === undefined) break;
        messages.push(answer.choices[0]?.message ?? { role: 'assistant', content: '' });
        messages.push({ role: 'user', content: question });
      }
      expect(nodes).toHaveLength(3);
      for (const node of nodes) expect(node).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(new Set(nodes).size).toBe(1);
    });

    it('answers log probabilities from the model, whole and streamed: its tokens, their alternatives, a prompt scored', async () => {
      const asked = {
        model: MODEL,
        messages: [{ role: 'user' as const, content: 'Hello there' }],
        max_tokens: 24,
        seed: 7,
      };
      const chat = await client.chat.completions.create({ ...asked, logprobs: true, top_logprobs: 3 });
      succeeded++;
      const choice = chat.choices[0];
      const content = choice?.logprobs?.content ?? [];
      expect(Buffer.from(content.flatMap((entry) => entry.bytes ?? [])).toString('utf8')).toBe(
        choice?.message.content,
      );
      expect(content.length).toBeGreaterThan(0);
      expect(content.length).toBeLessThanOrEqual(chat.usage?.completion_tokens ?? 0);
      for (const entry of content) {
        expect(entry.logprob).toBeLessThanOrEqual(0);
        expect(entry.top_logprobs).toHaveLength(3);
      }
      // Streamed: the same entries, each with the piece of text it belongs to.
      const stream = await client.chat.completions.create({
        ...asked,
        logprobs: true,
        top_logprobs: 3,
        stream: true,
      });
      const streamed: typeof content = [];
      for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
      succeeded++;
      // The same tokens; the numbers may differ in their last digits when the node's slot kept the prompt
      // (a cached prefix is evaluated in other batches).
      expect(streamed.map((entry) => entry.token)).toEqual(content.map((entry) => entry.token));
      streamed.forEach((entry, i) => {
        expect(entry.logprob).toBeCloseTo(content[i]?.logprob ?? Number.NaN, 3);
        expect(entry.top_logprobs.map((alt) => alt.token)).toEqual(
          content[i]?.top_logprobs.map((alt) => alt.token),
        );
      });

      // Seeded: unseeded, the tiny model now and then samples its end as the first token.
      const legacy = await client.completions.create({
        model: MODEL,
        prompt: 'Once',
        max_tokens: 8,
        logprobs: 2,
        seed: 7,
      });
      succeeded++;
      const logprobs = legacy.choices[0]?.logprobs;
      expect(logprobs?.tokens?.length).toBeGreaterThan(0);
      expect(logprobs?.tokens?.length).toBe(logprobs?.token_logprobs?.length);
      expect(logprobs?.text_offset?.[0]).toBe(0);

      // An evaluation harness's likelihood request: the prompt alone, echoed, every token scored.
      const text = 'the GPU node and the pod';
      const scored = await client.completions.create({
        model: MODEL,
        prompt: text,
        echo: true,
        max_tokens: 0,
        logprobs: 1,
      });
      succeeded++;
      const [echoed] = scored.choices;
      expect(echoed?.text).toBe(text);
      expect(echoed?.logprobs?.tokens?.join('')).toBe(text);
      expect(scored.usage?.completion_tokens).toBe(0);
      for (const logprob of echoed?.logprobs?.token_logprobs ?? []) expect(logprob).toBeLessThanOrEqual(0);
      // Streamed with an answer after it: the prompt's entries first, the same numbers.
      const echoStream = await client.completions.create({
        model: MODEL,
        prompt: text,
        echo: true,
        max_tokens: 3,
        logprobs: 1,
        stream: true,
      });
      let streamedText = '';
      const streamedLogprobs: Array<number | null> = [];
      for await (const chunk of echoStream) {
        streamedText += chunk.choices[0]?.text ?? '';
        streamedLogprobs.push(...(chunk.choices[0]?.logprobs?.token_logprobs ?? []));
      }
      succeeded++;
      expect(streamedText.startsWith(text)).toBe(true);
      const promptLogprobs = echoed?.logprobs?.token_logprobs ?? [];
      expect(streamedLogprobs.slice(0, promptLogprobs.length)).toEqual(promptLogprobs);
      // The same as token ids (BOS first), as a harness with the model's tokenizer sends it.
      const tokenized = await client.completions.create({
        model: MODEL,
        prompt: [1, 70, 80, 90],
        echo: true,
        max_tokens: 0,
        logprobs: 0,
      });
      succeeded++;
      // One entry per id sent, as a harness indexes them: the BOS first, with nothing before it.
      const [spelled] = tokenized.choices;
      expect(spelled?.logprobs?.tokens).toHaveLength(4);
      expect(spelled?.logprobs?.token_logprobs?.[0]).toBeNull();
      expect(spelled?.logprobs?.tokens?.join('')).toBe(spelled?.text);
      expect(tokenized.usage?.prompt_tokens).toBe(4);
    });

    it('streams the same seeded answer token by token, with usage at the end', async () => {
      const request = {
        model: MODEL,
        messages: [{ role: 'user' as const, content: 'Tell me more' }],
        max_tokens: 40,
        seed: 11,
      };
      const whole = await client.chat.completions.create(request);
      succeeded++;
      const stream = await client.chat.completions.create({
        ...request,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let chunks = 0;
      let usage: OpenAI.CompletionUsage | undefined | null;
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      succeeded++;
      expect(chunks).toBeGreaterThan(2);
      expect(text).toBe(whole.choices[0]?.message.content);
      expect(finish).toBe(whole.choices[0]?.finish_reason);
      expect(tokens(usage)).toEqual(tokens(whole.usage));
    });

    it('charges what the node had generated when the client walks away from a stream, or its deadline cuts it', async () => {
      // A seeded request that runs to max_tokens rather than ending early (found on the tiny model): a
      // stream of it lasts long enough to be cut (a quarter to half a second, by the machine).
      let request: { model: string; prompt: string; max_tokens: number; seed: number } | undefined;
      let wholeMs = 0;
      for (let seed = 1; request === undefined; seed++) {
        const probe = { model: MODEL, prompt: 'Once upon', max_tokens: 1_000, seed };
        const started = performance.now();
        const done = await client.completions.create(probe);
        wholeMs = performance.now() - started;
        succeeded++;
        if (done.choices[0]?.finish_reason === 'length') request = probe;
      }
      const audit = async (id: string) => {
        const response = await fetch(`${devnet.gatewayUrl}/v1/receipts/${id}`, {
          headers: { authorization: `Bearer ${devnet.apiKey}` },
        });
        return response.status === 200 ? ((await response.json()) as Json) : undefined;
      };
      const charged = async (id: string, what: string): Promise<Json> => {
        await waitFor(what, async () => (await audit(id)) !== undefined, { timeoutMs: 20_000 });
        succeeded++;
        return (await audit(id)) as Json;
      };
      // On a loaded machine the node may end the answer before the cut reaches it (then it is paid in
      // full, as it should be): the walk-away is tried until one lands mid-answer, at most five times.
      const maxTokens = request.max_tokens;
      const untilCutShort = async (attempt: () => Promise<Json>): Promise<Json> => {
        for (let tries = 1; ; tries++) {
          const answer = await attempt();
          if (answer.receipt.outputTokens < maxTokens || tries === 5) return answer;
        }
      };

      const walkedAway = await untilCutShort(async () => {
        const controller = new AbortController();
        const stream = await client.completions.create(
          { ...request, stream: true },
          { signal: controller.signal },
        );
        let id = '';
        let chunks = 0;
        try {
          for await (const chunk of stream) {
            id = chunk.id;
            if (++chunks === 4) controller.abort();
          }
        } catch {
          // The client's own abort.
        }
        // Chunks already received may still be read after the abort.
        expect(chunks).toBeGreaterThanOrEqual(4);
        expect(id).toMatch(/^cmpl-/);
        return charged(id, 'the cancelled job charged');
      });
      // Signed by the node for the tokens it had made, fewer than asked for; checked like any other.
      expect(walkedAway.receipt.outputTokens).toBeGreaterThanOrEqual(3);
      expect(walkedAway.receipt.outputTokens).toBeLessThan(maxTokens);
      expect(BigInt(walkedAway.charged)).toBeGreaterThan(0n);

      // The same stream cut by the caller's own deadline: its error says so, and the tokens are paid for.
      // The deadline starts at a third of the whole answer's time here and moves until it lands mid-answer:
      // longer when it passed before any output (free), shorter when the answer came whole (paid in full).
      let deadlineMs = Math.max(40, Math.floor(wholeMs / 3));
      let streamed = 0;
      let cut: Json | undefined;
      for (let tries = 1; cut === undefined; tries++) {
        expect(tries, 'a deadline that cuts the answer mid-stream').toBeLessThanOrEqual(8);
        const longer = () => {
          deadlineMs *= 2;
        };
        const shorter = () => {
          deadlineMs = Math.max(10, Math.floor(deadlineMs / 2));
        };
        let answer: AsyncIterable<{ id: string }>;
        try {
          answer = await client.completions.create(
            { ...request, stream: true },
            { headers: { 'x-neurino-timeout-ms': String(deadlineMs) } },
          );
        } catch (error) {
          expect(error).toMatchObject({ status: 504, code: 'deadline_exceeded' });
          longer();
          continue;
        }
        let id = '';
        streamed = 0;
        const failure = await (async () => {
          try {
            for await (const chunk of answer) {
              id = chunk.id;
              streamed++;
            }
          } catch (error) {
            return error;
          }
          return undefined;
        })();
        if (failure === undefined) {
          await charged(id, 'the whole answer charged');
          shorter();
          continue;
        }
        expect(failure).toMatchObject({ code: 'deadline_exceeded' });
        if (streamed === 0) {
          longer();
          continue;
        }
        const paid = await charged(id, 'the job cut by its deadline charged');
        if (paid.receipt.outputTokens < maxTokens) cut = paid;
        else shorter();
      }
      expect(cut.receipt.outputTokens).toBeGreaterThanOrEqual(streamed);
      expect(cut.receipt.outputTokens).toBeLessThan(maxTokens);
    }, 90_000);

    it('answers bad input with OpenAI-style errors and stable codes', async () => {
      await expect(
        client.chat.completions.create({
          model: 'no-such-model',
          messages: [{ role: 'user', content: 'x' }],
        }),
      ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });

      const malformed = await post('/v1/chat/completions', '{"model": "neurino-tiny", "messages": [');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.type).toBe('invalid_request_error');

      const wrongType = await post('/v1/chat/completions', JSON.stringify({ model: MODEL, messages: 'hi' }));
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.error.param).toMatch(/messages/);

      const missingKey = await fetch(`${devnet.gatewayUrl}/v1/models`);
      expect(missingKey.status).toBe(401);
      expect(((await missingKey.json()) as Json).error.code).toBe('missing_api_key');

      const wrongKey = new OpenAI({ baseURL: `${devnet.gatewayUrl}/v1`, apiKey: 'nrn_wrong', maxRetries: 0 });
      await expect(wrongKey.models.list()).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });

      const late = await post(
        '/v1/chat/completions',
        JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 900 }),
        { 'x-neurino-timeout-ms': '1' },
      );
      expect(late.status).toBe(504);
      expect(late.body.error.code).toBe('deadline_exceeded');
    });

    it('holds an answer to a JSON Schema (structured output) and refuses what pods cannot do', async () => {
      const completion = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Is the GPU free?' }],
        max_tokens: 200,
        seed: 2,
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'verdict',
            strict: true,
            schema: {
              type: 'object',
              properties: { free: { type: 'boolean' }, reason: { enum: ['idle', 'busy'] } },
              required: ['free', 'reason'],
              additionalProperties: false,
            },
          },
        },
      });
      succeeded++;
      const answer = JSON.parse(completion.choices[0]?.message.content ?? '') as Json;
      expect(Object.keys(answer).sort()).toEqual(['free', 'reason']);
      expect(typeof answer.free).toBe('boolean');
      expect(['idle', 'busy']).toContain(answer.reason);

      // Refused at the gateway or on the node (the schema keyword), with the field at fault: either way
      // a failed job, never charged.
      const asks: Array<[Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>, string]> = [
        [{ functions: [{ name: 'lookup' }] }, 'functions'],
        [
          {
            tools: [
              {
                type: 'function',
                function: {
                  name: 'lookup',
                  parameters: { type: 'object', properties: { code: { pattern: '^[A-Z]+$' } } },
                },
              },
            ],
          },
          'tools[0].function.parameters.properties.code.pattern',
        ],
        [
          {
            response_format: {
              type: 'json_schema',
              json_schema: { name: 'code', schema: { type: 'string', pattern: '^[A-Z]{3}$' } },
            },
          },
          'response_format.json_schema.schema.pattern',
        ],
      ];
      for (const [extra, param] of asks) {
        await expect(
          client.chat.completions.create({
            model: MODEL,
            messages: [{ role: 'user', content: 'x' }],
            max_tokens: 4,
            ...extra,
          }),
        ).rejects.toMatchObject({ status: 400, code: 'unsupported_parameter', param });
      }
      // logit_bias names the model's own token ids: the node checks them against its vocabulary.
      await expect(
        client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'x' }],
          max_tokens: 4,
          logit_bias: { '99999999': -100 },
        }),
      ).rejects.toMatchObject({ status: 400, code: 'invalid_request', param: 'logit_bias["99999999"]' });
      // Filling in the middle needs a model with the tokens for it; the tiny model has none.
      await expect(
        client.completions.create({ model: MODEL, prompt: 'def f():', suffix: '  return 1', max_tokens: 4 }),
      ).rejects.toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'suffix' });
      // Through the jobs API the node's field is one of the job's input.
      const job = await post(
        '/v1/jobs',
        JSON.stringify({
          pod: MODEL,
          input: { messages: [{ role: 'user', content: 'x' }], functions: [{ name: 'f' }] },
        }),
      );
      expect(job.status).toBe(400);
      expect(job.body.error).toMatchObject({ code: 'unsupported_parameter', param: 'input.functions' });
      expect(job.body.error.message).toMatch(/^input\.functions: functions and function_call are deprecated/);
    });

    it("embeds for the official client, at the model's own size when asked, and refuses another size", async () => {
      const whole = await client.embeddings.create({ model: MODEL, input: ['one', 'two words'] });
      succeeded++;
      expect(whole.data).toHaveLength(2);
      const width = whole.data[0]?.embedding.length ?? 0;
      expect(width).toBeGreaterThan(0);
      const same = await client.embeddings.create({ model: MODEL, input: 'one', dimensions: width });
      succeeded++;
      expect(same.data[0]?.embedding).toEqual(whole.data[0]?.embedding);
      // The tiny model is no Matryoshka one: fewer dimensions are refused by its node, and cost nothing.
      await expect(
        client.embeddings.create({ model: MODEL, input: 'one', dimensions: 8 }),
      ).rejects.toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'dimensions' });
    });

    it('calls tools for the official openai client, whole and streamed, and goes on from their results', async () => {
      const tools: OpenAI.ChatCompletionTool[] = [weatherTool];
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Rome?' }];
      const ask = { model: MODEL, messages, tools, max_tokens: 100, seed: 4 };
      const whole = await client.chat.completions.create({ ...ask, tool_choice: 'required' });
      succeeded++;
      const [choice] = whole.choices;
      expect(choice?.finish_reason).toBe('tool_calls');
      const call = choice?.message.tool_calls?.[0];
      if (call?.type !== 'function') throw new Error('expected a function call');
      expect(call.function.name).toBe('get_weather');
      expect(['Paris', 'Rome']).toContain(JSON.parse(call.function.arguments).city);
      expect(whole.usage?.completion_tokens).toBeGreaterThan(0);

      const stream = client.chat.completions.stream({ ...ask, tool_choice: 'required', stream: true });
      // The call arrives as the model writes it: its arguments in several pieces.
      const pieces: string[] = [];
      stream.on('tool_calls.function.arguments.delta', (event) => pieces.push(event.arguments_delta));
      const streamed = await stream.finalChatCompletion();
      succeeded++;
      expect(pieces.length).toBeGreaterThan(2);
      expect(pieces.join('')).toBe(call.function.arguments);
      expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
      // The same seed makes the same call; only its id is new.
      expect(streamed.choices[0]?.message.tool_calls).toEqual([
        { ...call, id: expect.stringMatching(/^call_[0-9a-f]{24}$/) },
      ]);

      const answered = await client.chat.completions.create({
        ...ask,
        max_tokens: 8,
        messages: [
          ...messages,
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: '{"celsius":21}' },
        ],
        tool_choice: 'none',
      });
      succeeded++;
      expect(answered.choices[0]?.message.tool_calls).toBeUndefined();
      expect(['stop', 'length']).toContain(answered.choices[0]?.finish_reason);
    });

    it('answers n choices to the official client, each its own, the prompt counted once, whole or streamed', async () => {
      const ask = {
        model: MODEL,
        messages: [{ role: 'user' as const, content: 'Name a colour' }],
        max_tokens: 6,
      };
      const one = await client.chat.completions.create({ ...ask, seed: 9 });
      const three = await client.chat.completions.create({ ...ask, seed: 9, n: 3 });
      succeeded += 2;
      expect(three.choices.map((c) => c.index)).toEqual([0, 1, 2]);
      // The first choice is the seed's own answer; the others are seeded after it.
      expect(three.choices[0]?.message.content).toBe(one.choices[0]?.message.content);
      expect(new Set(three.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
      expect(three.usage?.prompt_tokens).toBe(one.usage?.prompt_tokens);

      // Streamed, each choice under its index: the client's helper assembles the same three.
      const streamed = await client.chat.completions
        .stream({ ...ask, seed: 9, n: 3, stream_options: { include_usage: true } })
        .finalChatCompletion();
      succeeded++;
      expect(streamed.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual(
        three.choices.map((c) => [c.index, c.message.content, c.finish_reason]),
      );
      expect(tokens(streamed.usage)).toEqual(tokens(three.usage));

      // A completion of two prompts, streamed: prompt by prompt, as the whole answer numbers them.
      const prompts = { model: MODEL, prompt: ['Once', 'Twice'], max_tokens: 6, seed: 2, n: 2 };
      const whole = await client.completions.create(prompts);
      const texts: string[] = [];
      for await (const chunk of await client.completions.create({ ...prompts, stream: true })) {
        for (const choice of chunk.choices) texts[choice.index] = (texts[choice.index] ?? '') + choice.text;
      }
      succeeded += 2;
      expect(texts).toEqual(whole.choices.map((c) => c.text));
    });

    it("answers OpenAI's Responses API for the official client: text, a streamed answer and a tool call", async () => {
      // seed is ours (the Responses API has none): passed as a field the client sends on as it is.
      const hello = { model: MODEL, input: 'Hello', max_output_tokens: 12, seed: 3 };
      const text = await client.responses.create(hello);
      succeeded++;
      expect(text.status === 'completed' || text.status === 'incomplete').toBe(true);
      expect(text.output_text.length).toBeGreaterThan(0);
      expect(text.usage?.output_tokens).toBeGreaterThan(0);

      const streamed = await client.responses.stream(hello).finalResponse();
      succeeded++;
      expect(streamed.output_text).toBe(text.output_text);
      expect(responseTokens(streamed.usage)).toEqual(responseTokens(text.usage));

      // In the background: answered queued at once, read back until it ends, the same seeded answer.
      const queued = await client.responses.create({ ...hello, background: true });
      expect(queued.status).toBe('queued');
      let background = queued;
      while (background.status === 'queued' || background.status === 'in_progress') {
        await new Promise((resolve) => setTimeout(resolve, 25));
        background = await client.responses.retrieve(queued.id);
      }
      succeeded++;
      expect(background.output_text).toBe(text.output_text);

      // In the background and streamed: the events as the node makes them, then the same events again,
      // read back from where a client that lost its connection had got to.
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const event of await client.responses.create({ ...hello, background: true, stream: true }))
        events.push(event);
      succeeded++;
      const last = events.at(-1);
      // As the answer read back above: cut by max_output_tokens or not, the same end.
      if (last?.type !== 'response.completed' && last?.type !== 'response.incomplete')
        throw new Error(`ended with ${last?.type}`);
      expect(last.response.status).toBe(background.status);
      const pieces = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
      expect(pieces.join('')).toBe(text.output_text);
      const resumed = await client.responses.retrieve(last.response.id, { stream: true, starting_after: 3 });
      const rest: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const event of resumed) rest.push(event);
      expect(rest).toEqual(events.slice(4));

      // In a conversation: its items first, the same seeded answer, and the turn added to it.
      const conversation = await client.conversations.create({ metadata: { e2e: 'yes' } });
      const inConversation = await client.responses.create({ ...hello, conversation: conversation.id });
      succeeded++;
      expect(inConversation.output_text).toBe(text.output_text);
      expect(responseTokens(inConversation.usage)).toEqual(responseTokens(text.usage));
      const turn = await client.conversations.items.list(conversation.id, { order: 'asc' });
      expect(turn.data.map((item) => item.type)).toEqual(['message', 'message']);
      // One that outgrew the model's context: refused, or its oldest items left out with truncation 'auto'.
      const long = await client.conversations.create({
        items: Array.from({ length: 20 }, (_, i) => ({
          role: 'user' as const,
          content: `an old message, number ${i}, `.repeat(6),
        })),
      });
      const outgrown = { model: MODEL, input: 'And now?', max_output_tokens: 8, conversation: long.id };
      expect(
        await client.responses.create(outgrown).catch((error: { status?: number }) => error.status),
      ).toBe(400);
      const truncated = await client.responses.create({ ...outgrown, truncation: 'auto' });
      succeeded++;
      expect(truncated.truncation).toBe('auto');
      expect(truncated.usage?.input_tokens ?? 0).toBeLessThan(1_024);

      const include = ['message.output_text.logprobs' as const];
      const withLogprobs = await client.responses.create({ ...hello, include, top_logprobs: 2 });
      succeeded++;
      expect(withLogprobs.output_text).toBe(text.output_text);
      const [message] = withLogprobs.output;
      const part = message?.type === 'message' ? message.content[0] : undefined;
      const logprobs = part?.type === 'output_text' ? (part.logprobs ?? []) : [];
      expect(Buffer.from(logprobs.flatMap((entry) => entry.bytes)).toString('utf8')).toBe(text.output_text);
      expect(logprobs.every((entry) => entry.top_logprobs.length === 2)).toBe(true);

      const tools: OpenAI.Responses.FunctionTool[] = [
        {
          type: 'function',
          name: 'get_weather',
          strict: true,
          parameters: {
            type: 'object',
            properties: { city: { type: 'string', enum: ['Paris', 'Rome'] } },
            required: ['city'],
            additionalProperties: false,
          },
        },
      ];
      const called = await client.responses.create({
        model: MODEL,
        input: 'Weather in Paris?',
        tools,
        tool_choice: 'required',
        max_output_tokens: 100,
      });
      succeeded++;
      const call = called.output.find((item) => item.type === 'function_call');
      if (call?.type !== 'function_call') throw new Error('expected a function call');
      expect(call.name).toBe('get_weather');
      expect(['Paris', 'Rome']).toContain(JSON.parse(call.arguments).city);
      // The seed (ours, as above) makes the two answers below comparable.
      const seeded = { tools, tool_choice: 'none' as const, max_output_tokens: 8, seed: 5 };
      const answered = await client.responses.create({
        model: MODEL,
        ...seeded,
        input: [
          { role: 'user', content: 'Weather in Paris?' },
          call,
          { type: 'function_call_output', call_id: call.call_id, output: '{"celsius":20}' },
        ],
      });
      succeeded++;
      expect(answered.output.every((item) => item.type === 'message')).toBe(true);
      // The same turn continuing the stored response: the node is given the same conversation.
      const continued = await client.responses.create({
        model: MODEL,
        ...seeded,
        previous_response_id: called.id,
        input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"celsius":20}' }],
      });
      succeeded++;
      expect(continued.output_text).toBe(answered.output_text);
      expect(continued.usage?.input_tokens).toBe(answered.usage?.input_tokens);
      const items = await client.responses.inputItems.list(continued.id, { order: 'asc' });
      expect(items.data.map((item) => item.type)).toEqual([
        'message',
        'function_call',
        'function_call_output',
      ]);
      const receipt = await fetch(`${devnet.gatewayUrl}/v1/receipts/${answered.id}`, {
        headers: { authorization: `Bearer ${devnet.apiKey}` },
      });
      expect(receipt.status).toBe(200);
    });

    it('retries on the other miner when one dies mid-request, and charges once', async () => {
      // Only miner 1 online, frozen: the job goes to it and waits there.
      await devnet.miners.get(1)?.stop();
      await waitFor('one miner left', async () => (await health()).nodes.connected === 1, {
        timeoutMs: 30_000,
      });
      const frozen = devnet.miners.get(0);
      process.kill(frozen?.process.pid as number, 'SIGSTOP');
      const pending = post(
        '/v1/jobs',
        JSON.stringify({
          pod: MODEL,
          input: { messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 },
          timeout_ms: 90_000,
        }),
      );
      await waitFor('job dispatched', async () => (await health()).jobs.inFlight === 1, {
        timeoutMs: 10_000,
      });
      // The second miner comes back; then the first dies holding the job.
      await devnet.startMiner(1);
      await devnet.waitForNodes(2);
      process.kill(frozen?.process.pid as number, 'SIGKILL');
      const { status, body } = await pending;
      expect(status).toBe(200);
      expect(body.status).toBe('succeeded');
      expect(body.attempts).toBe(2);
      succeeded++;
      await devnet.startMiner(0);
      await devnet.waitForNodes(2);
    }, 120_000);

    it('keeps serving across a router restart; an account without credits gets 402', async () => {
      await devnet.router?.stop();
      unfundedKey = await ensureApiKey({
        databaseDir: routerDatabaseDir(routerDir()),
        account: devAccount(7).address,
        ...(target.databaseUrl && { databaseUrl: target.databaseUrl }),
      });
      await devnet.startRouter();
      await devnet.waitForNodes(2);
      const broke = new OpenAI({ baseURL: `${devnet.gatewayUrl}/v1`, apiKey: unfundedKey, maxRetries: 0 });
      await expect(
        broke.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toMatchObject({ status: 402, code: 'insufficient_credits' });
      for (let i = 0; i < 3; i++) {
        await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: `again ${i}` }],
          max_tokens: 8,
        });
        succeeded++;
      }
    }, 120_000);

    it("makes and revokes API keys while the router runs, through its operators' port", async () => {
      const ops = devnet.operationsUrl;
      expect((await fetch(`${ops}/health`)).status).toBe(200);
      expect((await fetch(`${ops}/nodes`)).status).toBe(401);
      expect((await fetch(`${devnet.gatewayUrl}/nodes`)).status).toBe(404);
      const account = devAccount(8).address;
      const keys = (...args: string[]) => runNeurino(['router', 'keys', ...args, '--data-dir', routerDir()]);
      const made = await keys('create', '--account', account, '--label', 'e2e');
      expect(made.code, made.stderr).toBe(0);
      const key = made.stdout.trim();
      const models = () =>
        fetch(`${devnet.gatewayUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      expect((await models()).status).toBe(200);
      const listed = await keys('list', '--account', account);
      expect(listed.stdout).toMatch(/^key_\w+ +nrn_\w+… +0x\w+ +active +e2e$/m);
      const revoked = await keys('revoke', listed.stdout.split(/\s+/)[0] ?? '');
      expect(revoked.code, revoked.stderr).toBe(0);
      expect((await models()).status).toBe(401);

      // `neurino nodes` finds the devnet's operators' port and its token by itself.
      const nodes = await runNeurino(['nodes', '--data-dir', dataDir]);
      expect(nodes.code, nodes.stderr).toBe(0);
      for (const index of [0, 1]) {
        expect(nodes.stdout).toContain(devAccount(DEV_ROLES.firstMiner + index).address);
      }
      // And `neurino pods` the model's scale, warm on the miners.
      const pods = await runNeurino(['pods', '--data-dir', dataDir]);
      expect(pods.code, pods.stderr).toBe(0);
      expect(pods.stdout).toMatch(
        new RegExp(`^${MODEL} +llama-cpp +[12] +\\d+ +\\d+–\\d+ +\\d+ +\\d+ +0x`, 'm'),
      );
    }, 120_000);

    it('loses no receipt when the router is killed right after answering', async () => {
      for (let i = 0; i < 3; i++) {
        await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: `before the crash ${i}` }],
          max_tokens: 8,
        });
        succeeded++;
      }
      // No shutdown at all: what it charged is in its journal, perhaps not yet in the store.
      const router = devnet.router;
      router?.process.kill('SIGKILL');
      await router?.exited.catch(() => undefined);
      await devnet.startRouter();
      await devnet.waitForNodes(2);
      await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'after the crash' }],
        max_tokens: 8,
      });
      succeeded++;
      // The receipts themselves are counted, once each, with every other job's, in the settlement test.
    }, 120_000);

    it('refuses an unregistered miner at the handshake with a clear reason', async () => {
      const stranger = await spawnNeurino(
        'miner-unregistered',
        [
          'miner',
          '--router',
          `${devnet.gatewayUrl.replace('http', 'ws')}/v1/miners`,
          '--rpc-url',
          devnet.rpcUrl,
          '--addresses',
          embeddedChainPaths(dataDir).addressBook,
          '--model',
          devnet.modelPath,
          '--data-dir',
          join(dataDir, 'miner-unregistered'),
        ],
        { logDir: devnet.logDir, env: { NEURINO_NODE_KEY: devPrivateKey(DEV_ROLES.firstMiner + 9) } },
      );
      const code = await stranger.exited;
      expect(code).not.toBe(0);
      const log = await readFile(stranger.logFile, 'utf8');
      expect(log).toMatch(/node_not_registered/);
      expect(log).toMatch(/not registered/);
      expect((await health()).nodes.connected).toBe(2);
    }, 60_000);

    it('fails with 503 and charges nothing when no miner is connected', async () => {
      await Promise.all([...devnet.miners.values()].map((miner) => miner.stop()));
      await waitFor('no miners', async () => (await health()).nodes.connected === 0, { timeoutMs: 30_000 });
      await expect(
        client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'anyone?' }] }),
      ).rejects.toMatchObject({ status: 503, code: 'no_node_available' });
    }, 60_000);

    it('lets the payer check a settled receipt without trusting the router', async () => {
      const response = await fetch(`${devnet.gatewayUrl}/v1/receipts/${firstChatId}`, {
        headers: { authorization: `Bearer ${devnet.apiKey}` },
      });
      expect(response.status).toBe(200);
      const parsed = parseReceiptAudit(await response.json());
      if (!parsed.ok) throw parsed.error;
      const audit = parsed.value;
      expect(audit.domain).toMatchObject({
        chain_id: devnet.book.chainId,
        verifying_contract: devnet.book.contracts.settlement,
      });
      // The node signed it, the router attested it, and it is in the batch the answer names.
      const router = getAddress(devRoleAccount('router').address);
      expect(await checkReceiptAudit(audit, router)).toEqual({
        hashMatches: true,
        nodeSigned: true,
        attested: true,
        inBatch: true,
      });
      // Another key's attestation would not do.
      expect((await checkReceiptAudit(audit, devnet.developer)).attested).toBe(false);
      // And that batch is one the Settlement contract applied: the root it keeps is the one proven.
      expect(audit.settlement).toMatchObject({ status: 'settled', batch: { router, sequence: 0n } });
      const onChainRoot = await devnet.publicClient.readContract({
        address: devnet.book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'batchRoot',
        args: [router, 0n],
      });
      expect(onChainRoot).toBe(audit.settlement.batch?.receipts_root);

      // The same from the command line, asking the chain itself.
      const cli = await runNeurino([
        'receipt',
        firstChatId,
        '--gateway',
        devnet.gatewayUrl,
        '--api-key',
        devnet.apiKey,
        '--rpc-url',
        devnet.rpcUrl,
      ]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toContain(`✓ ${router} holds ROUTER_ROLE on Settlement`);
      expect(cli.stdout).toContain('✓ Settlement.batchRoot holds that root: the batch was applied on-chain');
      expect(cli.stdout).not.toContain('✗');
    });

    it("shows the payer its credits: the chain's balance, less what is not settled yet", async () => {
      const creditsFor = async (apiKey: string) => {
        const response = await fetch(`${devnet.gatewayUrl}/v1/credits`, {
          headers: { authorization: `Bearer ${apiKey}` },
        });
        expect(response.status).toBe(200);
        return (await response.json()) as Json;
      };
      const spendable = await devnet.publicClient.readContract({
        address: devnet.book.contracts.computeCredits,
        abi: computeCreditsAbi,
        functionName: 'spendableBalanceOf',
        args: [devnet.developer],
      });
      const credits = await creditsFor(devnet.apiKey);
      expect(credits).toMatchObject({
        object: 'credits',
        account: getAddress(devnet.developer),
        balance: spendable.toString(),
        held: '0',
      });
      // The first router's batch is debited on-chain; what was answered since waits for the next one.
      expect(spendable).toBeLessThan(creditsBefore);
      expect(BigInt(credits.unsettled)).toBeGreaterThan(0n);
      expect(BigInt(credits.available)).toBe(spendable - BigInt(credits.unsettled));
      expect(await creditsFor(unfundedKey)).toMatchObject({ balance: '0', unsettled: '0', available: '0' });
      // The same from the command line, beside the chain's own figures (the devnet's defaults).
      const cli = await runNeurino(['credits', '--data-dir', dataDir]);
      expect(cli.code, cli.stderr).toBe(0);
      const neu = (wei: string | bigint) => `${formatEther(BigInt(wei))} NEU`;
      expect(cli.stdout).toContain(`compute credits of ${getAddress(devnet.developer)} (chain 31337`);
      expect(cli.stdout).toContain(`spendable ${neu(spendable)})`);
      expect(cli.stdout).toContain(
        `gateway     ${devnet.gatewayUrl}: ${neu(credits.unsettled)} charged, not settled yet; 0 NEU held; ${neu(credits.available)} available`,
      );
    });

    it('settles every receipt once: on-chain balances equal the sums of the stored receipts', async () => {
      await devnet.router?.stop();
      const store = await openStore(
        target.databaseUrl
          ? { databaseUrl: target.databaseUrl }
          : { dataDir: routerDatabaseDir(routerDir()) },
      );
      try {
        const ledger = new CreditLedger({ store, credits: { balanceOf: async () => 0n, maxAgeMs: 0 } });
        const receipts = await ledger.receiptsFor({ limit: 10_000 });
        expect(receipts).toHaveLength(succeeded);
        expect(new Set(receipts.map((r) => r.receipt.jobId)).size).toBe(succeeded);
        expect(receipts.every((r) => r.settledAt !== undefined && r.batch !== undefined)).toBe(true);

        const { contracts } = devnet.book;
        const expected = await expectChainMatchesReceipts(devnet, receipts, creditsBefore);
        // The same from the command line: the devnet's earners (its defaults), each with its share.
        const cli = await runNeurino(['earnings', '--data-dir', dataDir]);
        expect(cli.code, cli.stderr).toBe(0);
        for (const [party, amount] of expected.earnings) {
          expect(cli.stdout).toContain(`${party}  ${formatEther(amount)} NEU to claim`);
        }
        const parties = [...expected.earnings.keys()];
        expect(parties).toContain(getAddress(devRoleAccount('frontend').address));
        expect(parties).toContain(getAddress(devRoleAccount('podDeployer').address));
        const miners = [0, 1].map((i) => getAddress(devAccount(DEV_ROLES.firstMiner + i).address));
        expect(parties.some((party) => miners.includes(party))).toBe(true);
        const stakedAssets = await devnet.publicClient.readContract({
          address: contracts.stakedNeurino,
          abi: stakedNeurinoAbi,
          functionName: 'totalAssets',
        });
        expect(stakedAssets).toBe(expected.buyback);
        expect(expected.debited.get(getAddress(devnet.developer))).toBeGreaterThan(0n);
        // Router lifetimes, each settling what it charged when it stopped: one batch each, applied once.
        expect(new Set(receipts.map((r) => r.batch?.sequence)).size).toBeGreaterThanOrEqual(2);
      } finally {
        await store.close();
      }
    }, 120_000);
  });
});

/**
 * A chat's token counts without the cache's share, which depends on the node that ran it and what it
 * ran before (each of the two miners keeps its own slots); that share is never more than the prompt.
 */
function tokens(usage: OpenAI.CompletionUsage | null | undefined) {
  expect(usage?.prompt_tokens_details?.cached_tokens ?? 0).toBeLessThanOrEqual(usage?.prompt_tokens ?? 0);
  return { prompt: usage?.prompt_tokens, completion: usage?.completion_tokens, total: usage?.total_tokens };
}

/** The same for a response's usage. */
function responseTokens(usage: OpenAI.Responses.ResponseUsage | null | undefined) {
  expect(usage?.input_tokens_details.cached_tokens ?? 0).toBeLessThanOrEqual(usage?.input_tokens ?? 0);
  return { input: usage?.input_tokens, output: usage?.output_tokens, total: usage?.total_tokens };
}
