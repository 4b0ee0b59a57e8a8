// The llama-cpp runtime's structured output (response_format as a grammar) and OpenAI's penalties, on the
// project's tiny model: its answers are noise, so what is checked is what the sampler is held to.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny-model.ts';
import { PodError } from './errors.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';
import type { ChatRequest } from './types.ts';

let dir: string;
let runtime: LlamaCppRuntime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-cpp-sampling-'));
  const modelPath = (await writeTinyModel(join(dir, 'neurino-tiny.gguf'))).path;
  runtime = new LlamaCppRuntime({ modelPath, slots: 2 });
  await runtime.load();
});

afterAll(async () => {
  await runtime?.unload();
  await rm(dir, { recursive: true, force: true });
});

const hello: ChatRequest = { messages: [{ role: 'user', content: 'hello' }] };
const SEEDS = [1, 2, 3, 4];

describe('llama-cpp runtime: response_format', () => {
  it('answers in JSON for json_object, streaming the same text', async () => {
    for (const seed of [1, 2, 3, 5]) {
      const deltas: string[] = [];
      const result = await runtime.chat(
        { ...hello, seed, max_tokens: 400, response_format: { type: 'json_object' } },
        { onDelta: (d) => deltas.push(d) },
      );
      expect(result.finishReason).toBe('stop');
      expect(typeof JSON.parse(result.text)).toBe('object');
      expect(deltas.join('')).toBe(result.text);
    }
    // Cut by max_tokens, the JSON is unfinished (as OpenAI warns): the finish reason says so.
    const cut = await runtime.chat({
      ...hello,
      seed: 4,
      max_tokens: 30,
      response_format: { type: 'json_object' },
    });
    expect(cut.finishReason).toBe('length');
    expect(cut.text.startsWith('{')).toBe(true);
  });

  it('holds the JSON to a schema: its properties, types, enums and optional fields', async () => {
    const schema = {
      type: 'object',
      properties: {
        ok: { type: 'boolean' },
        count: { type: 'integer' },
        mood: { enum: ['calm', 'busy'] },
        note: { anyOf: [{ type: 'string', maxLength: 8 }, { type: 'null' }] },
      },
      required: ['ok', 'count', 'mood', 'note'],
      additionalProperties: false,
    };
    for (const seed of SEEDS) {
      const result = await runtime.chat({
        ...hello,
        seed,
        max_tokens: 200,
        response_format: { type: 'json_schema', schema },
      });
      const answer = JSON.parse(result.text) as Record<string, unknown>;
      expect(Object.keys(answer).sort()).toEqual(['count', 'mood', 'note', 'ok']);
      expect(typeof answer.ok).toBe('boolean');
      // An integer literal; llama.cpp's grammar allows an exponent, so it may not fit a double.
      expect(result.text).toMatch(/"count":\s*-?\d+([eE][-+]?\d+)?\s*,/);
      expect(['calm', 'busy']).toContain(answer.mood);
      expect(answer.note === null || (typeof answer.note === 'string' && answer.note.length <= 8)).toBe(true);
    }
  });

  it('refuses a schema it cannot enforce, or a malformed one, before generating', async () => {
    const ask = (schema: Record<string, unknown>) =>
      runtime.chat({ ...hello, max_tokens: 5, response_format: { type: 'json_schema', schema } }).then(
        () => undefined,
        (error: unknown) => error,
      );
    const pattern = await ask({ type: 'string', pattern: '^[a-z]+$' });
    expect(pattern).toBeInstanceOf(PodError);
    expect(pattern).toMatchObject({
      podCode: 'pod_unsupported',
      code: 'unsupported_parameter',
      retryable: false,
    });
    expect(pattern).toMatchObject({ param: 'response_format.json_schema.schema.pattern' });
    const dangling = await ask({ $ref: '#/$defs/none' });
    expect(dangling).toMatchObject({ podCode: 'pod_bad_request', code: 'invalid_request', retryable: false });
    expect(runtime.info().activeJobs).toBe(0);
  });
});

describe('llama-cpp runtime: presence and frequency penalties', () => {
  /** Share of distinct tokens in the completion. */
  const variety = (ids: readonly number[] | undefined = []) => new Set(ids).size / ids.length;

  it('repeats less with positive penalties and more with negative ones, the same for the same seed', async () => {
    const request = { ...hello, seed: 7, max_tokens: 40 };
    const plain = await runtime.chat(request);
    const penalized = await runtime.chat({ ...request, presence_penalty: 2, frequency_penalty: 2 });
    const encouraged = await runtime.chat({ ...request, frequency_penalty: -2 });
    expect(penalized.text).not.toBe(plain.text);
    expect(variety(penalized.completionTokenIds)).toBeGreaterThan(variety(plain.completionTokenIds));
    expect(variety(encouraged.completionTokenIds)).toBeLessThan(variety(plain.completionTokenIds) / 2);
    const again = await runtime.chat({ ...request, presence_penalty: 2, frequency_penalty: 2 });
    expect(again.completionTokenIds).toEqual(penalized.completionTokenIds);
    // Zero penalties are no penalties: the same answer as none given.
    const zero = await runtime.chat({ ...request, presence_penalty: 0, frequency_penalty: 0 });
    expect(zero.completionTokenIds).toEqual(plain.completionTokenIds);
  });
});

describe('llama-cpp runtime: constrained jobs side by side', () => {
  it('gives grammar and penalty jobs running together the answers they give one at a time', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    const requests: ChatRequest[] = [
      { ...hello, seed: 1, max_tokens: 100, response_format: { type: 'json_schema', schema } },
      { ...hello, seed: 2, max_tokens: 30, frequency_penalty: 1 },
      { ...hello, seed: 3, max_tokens: 100, response_format: { type: 'json_object' } },
      { ...hello, seed: 4, max_tokens: 30 },
    ];
    const alone: string[] = [];
    for (const request of requests) alone.push((await runtime.chat(request)).text);
    const together = await Promise.all(requests.map((request) => runtime.chat(request)));
    expect(together.map((r) => r.text)).toEqual(alone);
    expect(runtime.info().activeJobs).toBe(0);
  });
});
