// What scoring a prompt (a completion's echo with logprobs, as evaluation harnesses ask) costs against
// evaluating the same prompt to answer it: the tiny model, one slot with no prompt cache each, the same
// prompts of about 500 tokens, interleaved, wall time of each `complete` call. Scoring reads the whole
// vocabulary's probabilities at each prompt token: the tiny model has a few hundred tokens, so on a model
// of 32k or 128k the ratio is larger (the per-token part grows with the vocabulary).
import { performance } from 'node:perf_hooks';
import { tinyVocabulary } from '../src/compute/model/tiny-vocabulary.ts';
import { LlamaCppRuntime } from '../src/compute/pods/llama-cpp.ts';
import { percentiles } from './percentiles.ts';
import { withTinyModel } from './tiny-model-dir.ts';

export interface PromptScoringBenchResult {
  rounds: number;
  promptTokens: number;
  plainP50Ms: number;
  scoredP50Ms: number;
  /** scoredP50Ms / plainP50Ms. */
  ratio: number;
}

const TEXT = 'the GPU node runs the pod and the job of Neurino. ';

export function benchPromptScoring(rounds = 12): Promise<PromptScoringBenchResult> {
  return withTinyModel('neurino-prompt-scoring', (modelPath) => scoreAndEvaluate(modelPath, rounds));
}

async function scoreAndEvaluate(modelPath: string, rounds: number): Promise<PromptScoringBenchResult> {
  const options = { modelPath, slots: 1, promptCache: false } as const;
  const plain = new LlamaCppRuntime(options);
  const scored = new LlamaCppRuntime(options);
  try {
    await Promise.all([plain.load(), scored.load()]);
    const times = { plain: [] as number[], scored: [] as number[] };
    let promptTokens = 0;
    for (let round = 0; round < rounds; round++) {
      // A new prompt each round (no cache to meet), the same on both sides.
      const prompt = `${round} ${TEXT.repeat(22)}`;
      const order = round % 2 === 0 ? (['plain', 'scored'] as const) : (['scored', 'plain'] as const);
      for (const side of order) {
        const started = performance.now();
        const result =
          side === 'plain'
            ? await plain.complete({ prompt, max_tokens: 1, temperature: 0 })
            : await scored.complete({ prompt, max_tokens: 0, echo: true, logprobs: 1 });
        times[side].push(performance.now() - started);
        promptTokens = result.usage?.promptTokens ?? 0;
      }
    }
    // The first round warms both runtimes up: left out of both sides.
    const plainP50Ms = percentiles(times.plain.slice(1)).p50Ms;
    const scoredP50Ms = percentiles(times.scored.slice(1)).p50Ms;
    return { rounds, promptTokens, plainP50Ms, scoredP50Ms, ratio: scoredP50Ms / plainP50Ms };
  } finally {
    await Promise.all([plain.unload(), scored.unload()]);
  }
}

export function printPromptScoringBench(result: PromptScoringBenchResult): void {
  console.log(
    `prompt scoring: ${result.rounds} prompts of ${result.promptTokens} tokens on the tiny model (${tinyVocabulary().length}-token vocabulary), p50`,
  );
  console.log(`  evaluated to answer (max_tokens 1)       ${result.plainP50Ms.toFixed(2).padStart(7)} ms`);
  console.log(`  scored (echo, logprobs 1, max_tokens 0)  ${result.scoredP50Ms.toFixed(2).padStart(7)} ms`);
  console.log(`  scoring / evaluating                     ${result.ratio.toFixed(2).padStart(7)}×`);
}

if (import.meta.url === `file://${process.argv[1]}`) printPromptScoringBench(await benchPromptScoring());
