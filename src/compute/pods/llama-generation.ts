import { randomInt } from 'node:crypto';
import {
  type LlamaContextSequence,
  type LlamaContextSequenceRepeatPenalty,
  type LlamaGrammar,
  LlamaGrammarEvaluationState,
  type Token,
} from 'node-llama-cpp';
import { PodBadRequestError, stoppedWith, throwIfAborted } from './errors.ts';
import { StopSequenceMatcher } from './stop-sequences.ts';
import { TokenTextDecoder } from './token-text-decoder.ts';
import type { FinishReason, SamplingParams } from './types.ts';

export interface SequenceGenerationInput {
  readonly sequence: LlamaContextSequence;
  /** The whole prompt, BOS and template tokens included. */
  readonly promptTokens: readonly Token[];
  /** The request field the prompt came from (`messages`, `prompt`), named when it does not fit. */
  readonly promptParam?: string | undefined;
  readonly sampling: SamplingParams;
  /** Token sequences that end generation (a chat template's end-of-turn), besides end-of-generation tokens. */
  readonly stopTokens?: readonly (readonly Token[])[];
  /** Constrains sampling (structured output); each job gets its own evaluation state. */
  readonly grammar?: LlamaGrammar | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onDelta?: ((text: string) => void) | undefined;
}

export interface SequenceGenerationOutput {
  readonly text: string;
  readonly finishReason: FinishReason;
  readonly completionTokenIds: Token[];
}

/** OpenAI's default. */
const DEFAULT_TEMPERATURE = 1;
/** llama.cpp reads this seed as "pick one at random", so no caller seed may map to it. */
const RANDOM_SEED_SENTINEL = 0xffffffff;

/** Any integer seed as a llama.cpp sampler seed; without one, a fresh random seed per job. */
export function samplerSeed(seed: number | undefined): number {
  if (seed === undefined) return randomInt(0, RANDOM_SEED_SENTINEL);
  return (seed >>> 0) % RANDOM_SEED_SENTINEL;
}

/**
 * OpenAI's presence and frequency penalties over the tokens generated so far (as vLLM applies them, not
 * over the prompt); llama.cpp subtracts them from the logits the same way. None when both are 0.
 */
function penaltiesOver(
  sampling: SamplingParams,
  generated: readonly Token[],
): LlamaContextSequenceRepeatPenalty | undefined {
  const presencePenalty = sampling.presencePenalty ?? 0;
  const frequencyPenalty = sampling.frequencyPenalty ?? 0;
  if (presencePenalty === 0 && frequencyPenalty === 0) return undefined;
  // penalty 1: no multiplicative repeat penalty, which OpenAI does not have.
  return { punishTokens: () => generated as Token[], penalty: 1, presencePenalty, frequencyPenalty };
}

function endsWith(tokens: readonly Token[], tail: readonly Token[]): boolean {
  if (tail.length === 0 || tail.length > tokens.length) return false;
  return tail.every((token, i) => tokens[tokens.length - tail.length + i] === token);
}

/**
 * Generates on one context sequence, token by token. The sequence starts empty for every job, so the
 * prompt is always evaluated the same way and a seeded job repeats exactly (what re-execution needs).
 */
export async function generateOnSequence(input: SequenceGenerationInput): Promise<SequenceGenerationOutput> {
  const { sequence, promptTokens, sampling, signal } = input;
  const model = sequence.model;
  const room = sequence.contextSize - promptTokens.length;
  if (room <= 0) {
    throw new PodBadRequestError(
      `The prompt has ${promptTokens.length} tokens; the model's context holds ${sequence.contextSize}`,
      {
        details: { promptTokens: promptTokens.length, contextSize: sequence.contextSize },
        ...(input.promptParam === undefined ? {} : { param: input.promptParam }),
      },
    );
  }
  const maxTokens = Math.min(sampling.maxTokens ?? room, room);
  await sequence.clearHistory();
  throwIfAborted(signal);

  const decoder = new TokenTextDecoder(model, promptTokens);
  const stops = new StopSequenceMatcher(sampling.stop);
  const completionTokenIds: Token[] = [];
  let text = '';
  const emit = (piece: string) => {
    if (piece === '') return;
    text += piece;
    input.onDelta?.(piece);
  };
  let finishReason: FinishReason = 'length';
  let stoppedBySequence = false;
  const repeatPenalty = penaltiesOver(sampling, completionTokenIds);
  const grammar = input.grammar;
  const tokens = sequence.evaluate([...promptTokens], {
    temperature: sampling.temperature ?? DEFAULT_TEMPERATURE,
    topP: sampling.topP ?? 1,
    topK: 0, // OpenAI semantics: no top-k cut unless asked
    minP: 0,
    seed: samplerSeed(sampling.seed),
    yieldEogToken: true,
    ...(repeatPenalty === undefined ? {} : { repeatPenalty }),
    ...(grammar === undefined
      ? {}
      : { grammarEvaluationState: new LlamaGrammarEvaluationState({ model, grammar }) }),
  });
  for await (const token of tokens) {
    if (signal?.aborted) {
      const usage = { promptTokens: promptTokens.length, completionTokens: completionTokenIds.length };
      throw stoppedWith(signal, { text, completionTokenIds: [...completionTokenIds], usage });
    }
    completionTokenIds.push(token);
    if (model.isEogToken(token) || input.stopTokens?.some((tail) => endsWith(completionTokenIds, tail))) {
      finishReason = 'stop';
      break;
    }
    const piece = stops.push(decoder.push(token));
    emit(piece.emit);
    if (piece.stopped) {
      finishReason = 'stop';
      stoppedBySequence = true;
      break;
    }
    if (completionTokenIds.length >= maxTokens) break;
  }
  if (!stoppedBySequence) {
    const tail = stops.push(decoder.flush());
    emit(tail.emit);
    if (tail.stopped) finishReason = 'stop';
    else emit(stops.flush());
  }
  return { text, finishReason, completionTokenIds };
}
