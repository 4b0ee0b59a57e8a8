// A conversation's turns on a llama-cpp pod with prompt caching (a slot keeps the part of its context
// that begins the next prompt) against the same pod evaluating every prompt from an empty context: the
// tiny model, one slot each with a context of 2,048 tokens (twice its training context, as the long
// conversation needs), the same growing conversation (a long system message, each answer fed back with
// the next question), turns interleaved, wall time of each `chat` call.
import { performance } from 'node:perf_hooks';
import { LlamaCppRuntime } from '../src/compute/pods/llama-cpp.ts';
import type { ChatMessage } from '../src/compute/pods/types.ts';
import { percentiles } from './percentiles.ts';
import { withTinyModel } from './tiny-model-dir.ts';

export interface PromptCacheBenchResult {
  turns: number;
  /** Prompt tokens of the last turn. */
  lastPromptTokens: number;
  coldP50Ms: number;
  cachedP50Ms: number;
  /** coldP50Ms / cachedP50Ms. */
  speedup: number;
}

const SYSTEM = `You are the support assistant of a GPU cloud. ${'Answer briefly and exactly. '.repeat(16)}`;

export function benchPromptCache(turns = 16): Promise<PromptCacheBenchResult> {
  return withTinyModel('neurino-prompt-cache', (modelPath) => conversation(modelPath, turns));
}

async function conversation(modelPath: string, turns: number): Promise<PromptCacheBenchResult> {
  const cold = new LlamaCppRuntime({ modelPath, slots: 1, contextSize: 2048, promptCache: false });
  const cached = new LlamaCppRuntime({ modelPath, slots: 1, contextSize: 2048 });
  try {
    await Promise.all([cold.load(), cached.load()]);
    const messages: ChatMessage[] = [{ role: 'system', content: SYSTEM }];
    const times = { cold: [] as number[], cached: [] as number[] };
    let lastPromptTokens = 0;
    for (let turn = 0; turn < turns; turn++) {
      messages.push({ role: 'user', content: `Question ${turn}: how many GPUs are free now?` });
      const request = { messages, max_tokens: 8, temperature: 0, seed: turn };
      // Alternating which goes first, so neither always meets the other's cache effects.
      const order = turn % 2 === 0 ? (['cold', 'cached'] as const) : (['cached', 'cold'] as const);
      let answer = '';
      for (const side of order) {
        const runtime = side === 'cold' ? cold : cached;
        const started = performance.now();
        const result = await runtime.chat(request);
        times[side].push(performance.now() - started);
        answer = result.text;
        lastPromptTokens = result.usage?.promptTokens ?? 0;
      }
      messages.push({ role: 'assistant', content: answer });
    }
    // The first turn fills the cache: it is not a hit, so it is left out of both sides.
    const coldP50Ms = percentiles(times.cold.slice(1)).p50Ms;
    const cachedP50Ms = percentiles(times.cached.slice(1)).p50Ms;
    return { turns, lastPromptTokens, coldP50Ms, cachedP50Ms, speedup: coldP50Ms / cachedP50Ms };
  } finally {
    await Promise.all([cold.unload(), cached.unload()]);
  }
}

export function printPromptCacheBench(result: PromptCacheBenchResult): void {
  console.log(
    `prompt cache: a conversation of ${result.turns} turns on the tiny model (the last prompt ${result.lastPromptTokens} tokens), p50 of each turn`,
  );
  console.log(`  every prompt evaluated whole   ${result.coldP50Ms.toFixed(2).padStart(7)} ms`);
  console.log(`  the slot's cached prefix kept  ${result.cachedP50Ms.toFixed(2).padStart(7)} ms`);
  console.log(`  speed-up                       ${result.speedup.toFixed(2).padStart(7)}×`);
}

if (import.meta.url === `file://${process.argv[1]}`) printPromptCacheBench(await benchPromptCache());
