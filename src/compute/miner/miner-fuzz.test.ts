// Fuzzing a miner from the router's side: seeded mutations of valid job inputs (chat, completion,
// embeddings), assigned to a miner on the tiny model. The router checks what reaches a node, but a node
// must not depend on it: each job ends in a result whose receipt verifies or a job.error with a registered
// code, the input's faults as invalid_request or unsupported_parameter (never a node failure, which would
// get the node suspended), the slot is freed, and the miner keeps serving.
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { mulberry32 } from '../../protocol/mulberry32.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import { type Json, mutate, pick, type Random } from '../../protocol/testing/json-mutation.ts';
import { useTestMiner } from './testing/miner-fixture.ts';

const CASES = Number(process.env.NEURINO_FUZZ_CASES ?? 600);
const SEED = Number(process.env.NEURINO_FUZZ_SEED ?? 20261127);
const ONLY = process.env.NEURINO_FUZZ_CASE === undefined ? undefined : Number(process.env.NEURINO_FUZZ_CASE);

/** Codes a node answers for what was asked of it, not for a fault of its own. */
const INPUT_FAULTS = new Set(['invalid_request', 'unsupported_parameter', 'schema_violation']);

const setup = useTestMiner({ heartbeatMs: 1_000 });

function validInput(random: Random): { kind: JobKind; input: Json } {
  return pick(random, [
    {
      kind: 'chat',
      input: {
        model: 'neurino-tiny',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello' },
        ],
        max_tokens: 6,
        temperature: 0.5,
        seed: 1,
      },
    },
    {
      kind: 'chat',
      input: {
        model: 'neurino-tiny',
        messages: [{ role: 'user', content: 'weather?' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'weather',
              parameters: { type: 'object', properties: { city: { type: 'string' } } },
            },
          },
        ],
        tool_choice: 'required',
        max_tokens: 32,
      },
    },
    {
      kind: 'chat',
      input: {
        messages: [{ role: 'user', content: 'x' }],
        n: 2,
        logprobs: true,
        top_logprobs: 2,
        max_tokens: 4,
      },
    },
    {
      kind: 'completion',
      input: { model: 'neurino-tiny', prompt: ['Once', 'upon'], max_tokens: 4, logprobs: 1, stop: ['\n'] },
    },
    {
      kind: 'completion',
      input: { model: 'neurino-tiny', prompt: 'the node', n: 2, echo: true, max_tokens: 0, logprobs: 2 },
    },
    { kind: 'embeddings', input: { model: 'neurino-tiny', input: ['one', 'two'], dimensions: 64 } },
  ] satisfies Array<{ kind: JobKind; input: Json }>);
}

describe('miner fuzz', () => {
  it(`ends ${CASES} mutated jobs with a verified result or a registered error, and keeps serving`, async () => {
    const { pod, connection } = setup;
    const random = mulberry32(SEED);
    const failures: string[] = [];
    let succeeded = 0;
    for (let i = 0; i < CASES; i++) {
      const { kind, input } = validInput(random);
      const mutated = mutate(input, random);
      const stream = kind !== 'embeddings' && random() < 0.3;
      if (ONLY !== undefined && i !== ONLY) continue;
      const outcome = await connection.assign({ podId: pod.podId, kind, input: mutated, stream });
      const seen = `seed ${SEED} case ${i}: ${kind}${stream ? ' streamed' : ''} ${JSON.stringify(mutated).slice(0, 400)}`;
      if (outcome.error !== undefined) {
        const { code, message } = outcome.error;
        if (!Object.hasOwn(ERROR_CODES, code))
          failures.push(`${seen}\n→ unregistered code ${code}: ${message}`);
        else if (!INPUT_FAULTS.has(code)) failures.push(`${seen}\n→ ${code}: ${message}`);
        else if (outcome.error.retryable) failures.push(`${seen}\n→ ${code} said retryable`);
      } else if (outcome.checked?.ok !== true) {
        failures.push(`${seen}\n→ a result the router refuses: ${JSON.stringify(outcome.checked)}`);
      } else succeeded++;
    }
    expect(failures.slice(0, 5).join('\n\n'), `${failures.length} failing cases`).toBe('');
    if (ONLY === undefined) {
      expect(succeeded).toBeGreaterThan(CASES / 10);
      expect(succeeded).toBeLessThan(CASES);
    }
    // Every slot free again, and the node still runs a plain job.
    const plain = await connection.assign({
      podId: pod.podId,
      kind: 'chat',
      input: { model: 'neurino-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
    });
    expect(plain.checked?.ok).toBe(true);
  });
});
