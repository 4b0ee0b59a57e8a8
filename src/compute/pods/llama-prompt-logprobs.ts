// A prompt's tokens scored, as OpenAI's legacy `echo` with `logprobs` answers (and evaluation harnesses
// read a text's likelihood): each token's log probability under the model given the tokens before it,
// with its likeliest alternatives. The model's own distribution: temperature, top_p and logit_bias shape
// what is sampled after the prompt, not how likely the prompt was.
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import { stoppedWith } from './errors.ts';
import { LogprobCollector } from './llama-logprobs.ts';
import { TokenTextDecoder } from './token-text-decoder.ts';
import type { PromptTokenLogprob } from './types.ts';

/**
 * Prompt tokens evaluated per call. Each position's distribution covers the whole vocabulary; it is read
 * and let go as it comes, so a call's size sets the batch, not the memory.
 */
const TOKENS_PER_CALL = 256;

/** The model's distribution unchanged: llama.cpp's sampler defaults would cut it (top-k 40, top-p 0.95). */
const RAW_DISTRIBUTION = { temperature: 1, topK: 0, topP: 1, minP: 0 } as const;

interface Scored {
  probability: number;
  /** The likeliest tokens at the place, most likely first (as many as asked). */
  likeliest: Map<Token, number>;
}

export interface PromptScoring {
  readonly sequence: LlamaContextSequence;
  /** The whole prompt, BOS included. */
  readonly promptTokens: readonly Token[];
  /** Leading tokens that are not the caller's text (BOS): scored from, never scored. */
  readonly context: number;
  /** Alternatives per token. */
  readonly top: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Evaluates the prompt from an empty sequence (a cached prefix kept no probabilities), leaving the
 * sequence holding it, and returns one entry per token after `context`. The first has no log probability
 * when nothing comes before it.
 */
export async function scorePrompt(input: PromptScoring): Promise<PromptTokenLogprob[]> {
  const { sequence, promptTokens, context, top, signal } = input;
  const scored: Array<Scored | undefined> = [];
  await sequence.clearHistory();
  for (let start = 0; start < promptTokens.length; start += TOKENS_PER_CALL) {
    if (signal?.aborted) throw stopped(signal, promptTokens.length);
    const end = Math.min(start + TOKENS_PER_CALL, promptTokens.length);
    const items = promptTokens.slice(start, end).map((token, i) => {
      const next = start + i + 1;
      // A place's output is the distribution of the token after it: read where that token is scored.
      if (next < context || next >= promptTokens.length) return token;
      return [token, { generateNext: { probabilities: true, options: RAW_DISTRIBUTION } }] as const;
    });
    await sequence.controlledEvaluate(items as Parameters<LlamaContextSequence['controlledEvaluate']>[0], {
      onTokenResult: (index, result) => {
        const next = start + index + 1;
        const probabilities = result.next.probabilities;
        if (probabilities === undefined) return;
        scored[next] = {
          probability: probabilities.get(promptTokens[next] as Token) ?? 0,
          likeliest: firstOf(probabilities, top),
        };
        // The whole vocabulary's map is let go now rather than with the call's results.
        delete (result.next as { probabilities?: unknown }).probabilities;
      },
    });
  }
  if (signal?.aborted) throw stopped(signal, promptTokens.length);
  return entriesOf(input, scored);
}

/** The entries as a sampled answer's are shown: each token's text or bytes, a split character whole. */
function entriesOf(input: PromptScoring, scored: ReadonlyArray<Scored | undefined>): PromptTokenLogprob[] {
  const { sequence, promptTokens, context, top } = input;
  const collector = new LogprobCollector(sequence.model, top);
  const decoder = new TokenTextDecoder(sequence.model, promptTokens.slice(0, context), true);
  for (let at = context; at < promptTokens.length; at++) {
    const token = promptTokens[at] as Token;
    const score = scored[at];
    collector.sampled(token, score?.probability ?? 1, top > 0 ? score?.likeliest : undefined);
    const text = decoder.push(token);
    if (!decoder.holding) collector.decoded(text);
  }
  collector.decoded(decoder.flush());
  const entries: PromptTokenLogprob[] = collector.entries(Number.POSITIVE_INFINITY);
  const first = entries[0];
  if (first !== undefined && scored[context] === undefined) {
    entries[0] = { token: first.token, bytes: first.bytes, logprob: null, top: null };
  }
  return entries;
}

function firstOf(probabilities: ReadonlyMap<Token, number>, count: number): Map<Token, number> {
  const first = new Map<Token, number>();
  if (count === 0) return first;
  for (const [token, probability] of probabilities) {
    first.set(token, probability);
    if (first.size >= count) break;
  }
  return first;
}

/** Stopped while scoring, nothing generated yet: a paid cancel's partial work is the prompt read. */
function stopped(signal: AbortSignal, promptTokens: number) {
  return stoppedWith(signal, {
    text: '',
    completionTokenIds: [],
    usage: { promptTokens, completionTokens: 0 },
  });
}
