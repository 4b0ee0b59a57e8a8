import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny-model.ts';
import { LlamaCppRuntime } from './llama-cpp.ts';
import { boundedNumbers } from './llama-grammar.ts';
import { sharedLlama } from './llama-instance.ts';

let dir: string;
let runtime: LlamaCppRuntime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-grammar-'));
  const { path } = await writeTinyModel(join(dir, 'neurino-tiny.gguf'));
  runtime = new LlamaCppRuntime({ modelPath: path, slots: 1 });
  await runtime.load();
});

afterAll(async () => {
  await runtime?.unload();
  await rm(dir, { recursive: true, force: true });
});

const schema = {
  type: 'object',
  properties: { count: { type: 'integer' }, ratio: { type: 'number' } },
  required: ['count', 'ratio'],
  additionalProperties: false,
};

describe('numbers in schema grammars', () => {
  it("rewrites the generator's number rules: integers without exponent, others with two digits at most", async () => {
    const llama = await sharedLlama({ gpu: false, maxThreads: 1 });
    const generated = (await llama.createGrammarForJsonSchema(schema as never)).grammar;
    // The generator names its rules so; were it to rename them, this fails rather than the rewrite silently
    // doing nothing.
    expect(generated).toMatch(/^integer-number-rule ::= .*\[eE\]/m);
    expect(generated).toMatch(/^fractional-number-rule ::= .*\[0-9\]\{0,15\}\)\)\?$/m);
    const bounded = boundedNumbers(generated);
    const integer = bounded.split('\n').find((line) => line.startsWith('integer-number-rule'));
    expect(integer).toBe('integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15})');
    expect(bounded).toMatch(/^fractional-number-rule ::= .*\[-\+\]\? \[0-9\]\{1,2\}\)\?$/m);
    expect(bounded.replace(/^(integer|fractional)-number-rule ::= .*$/gm, '')).toBe(
      generated.replace(/^(integer|fractional)-number-rule ::= .*$/gm, ''),
    );
  });

  it("bounds the built-in JSON grammar's numbers the same way (json_object)", async () => {
    const llama = await sharedLlama({ gpu: false, maxThreads: 1 });
    const json = (await llama.getGrammarFor('json')).grammar;
    expect(json).toMatch(/^number ::= .*\[eE\] \[-\+\]\? \[0-9\] \[1-9\]\{0,15\}\)\? ws$/m);
    expect(boundedNumbers(json)).toMatch(
      /^number ::= .*\("\." \[0-9\]\{1,16\}\)\? \(\[eE\] \[-\+\]\? \[0-9\]\{1,2\}\)\? ws$/m,
    );
  });

  it('makes the model write only finite numbers in any JSON (json_object)', async () => {
    const numbers = (value: unknown): number[] =>
      typeof value === 'number'
        ? [value]
        : typeof value === 'object' && value !== null
          ? Object.values(value).flatMap(numbers)
          : [];
    let seen = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const result = await runtime.chat({
        messages: [{ role: 'user', content: 'Numbers.' }],
        response_format: { type: 'json_object' },
        max_tokens: 200,
        seed,
      });
      if (result.finishReason === 'length') continue;
      const found = numbers(JSON.parse(result.text));
      for (const n of found) expect(Number.isFinite(n), result.text).toBe(true);
      seen += found.length;
    }
    expect(seen).toBeGreaterThan(0);
  });

  it('makes the model write integers and finite numbers where the schema says so', async () => {
    let whole = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const result = await runtime.chat({
        messages: [{ role: 'user', content: 'Count.' }],
        response_format: { type: 'json_schema', schema },
        max_tokens: 120,
        seed,
      });
      if (result.finishReason === 'length') continue;
      const answer = JSON.parse(result.text) as { count: number; ratio: number };
      expect(Number.isInteger(answer.count), result.text).toBe(true);
      expect(Number.isFinite(answer.ratio), result.text).toBe(true);
      whole++;
    }
    expect(whole).toBeGreaterThan(2);
  });
});
