import { randomInt } from 'node:crypto';
import {
  type LlamaContextSequence,
  type LlamaContextSequenceRepeatPenalty,
  type LlamaGrammar,
  LlamaGrammarEvaluationState,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { PodBadRequestError, stoppedWith, throwIfAborted } from './errors.ts';
import { tokenBiasOf } from './llama-logit-bias.ts';
import { LogprobCollector } from './llama-logprobs.ts';
import { StopSequenceMatcher } from './stop-sequences.ts';
import { TokenTextDecoder } from './token-text-decoder.ts';
import type { GenerateOptions, SamplingParams, TokenLogprob } from './types.ts';

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
  /**
   * What starts a tool call in the chat template's syntax, as text or as tokens: generation stops there
   * with `calling` set, the trigger itself neither emitted nor part of the text.
   */
  readonly callTriggers?: {
    readonly text: readonly string[];
    readonly tokens: readonly (readonly Token[])[];
  };
  /**
   * Keep what the sequence holds that begins `promptTokens` (an earlier phase of the same job, or with
   * prompt caching an earlier job's prompt): only the rest is evaluated. Off: the sequence starts empty.
   */
  readonly continuing?: boolean;
  readonly signal?: AbortSignal | undefined;
  readonly onDelta?: GenerateOptions['onDelta'] | undefined;
}

export interface SequenceGenerationOutput {
  readonly text: string;
  readonly finishReason: 'stop' | 'length';
  readonly completionTokenIds: Token[];
  /** Stopped at one of `callTriggers`: the model began a tool call. */
  readonly calling: boolean;
  /** When `sampling.logprobs` asked: one entry per token of `text`. */
  readonly logprobs?: TokenLogprob[];
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

/** llama.cpp's sampler as OpenAI's settings describe it: no top-k or min-p cut, which OpenAI has not. */
function samplerOptions(sampling: SamplingParams, model: LlamaModel) {
  const tokenBias = tokenBiasOf(model, sampling.logitBias);
  return {
    temperature: sampling.temperature ?? DEFAULT_TEMPERATURE,
    topP: sampling.topP ?? 1,
    topK: 0,
    minP: 0,
    seed: samplerSeed(sampling.seed),
    ...(tokenBias === undefined ? {} : { tokenBias }),
  };
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
 * Generates on one context sequence, token by token. A sequence started empty evaluates the prompt the
 * same way every time, so a seeded job repeats exactly (what re-execution needs); one that keeps a cached
 * prefix evaluates only the rest, whose numbers may differ from a whole evaluation in their last digits
 * (llama.cpp's kernels differ by batch size), so the tokens sampled from them may too, rarely.
 */
export async function generateOnSequence(input: SequenceGenerationInput): Promise<SequenceGenerationOutput> {
  const { sequence, promptTokens, sampling, signal } = input;
  const model = sequence.model;
  const room = roomAfter(sequence, promptTokens, input.promptParam);
  const maxTokens = Math.min(sampling.maxTokens ?? room, room);
  if (maxTokens === 0) return nothingGenerated(sampling);
  const toEvaluate = await startSequence(sequence, promptTokens, input.continuing === true);
  throwIfAborted(signal);

  const callTriggers = input.callTriggers ?? { text: [], tokens: [] };
  const decoder = new TokenTextDecoder(model, promptTokens);
  const stops = new StopSequenceMatcher([...sampling.stop, ...callTriggers.text]);
  const completionTokenIds: Token[] = [];
  const logprobs =
    sampling.logprobs === undefined ? undefined : new LogprobCollector(model, sampling.logprobs);
  let text = '';
  const emit = (piece: string) => {
    if (piece === '') return;
    text += piece;
    input.onDelta?.(piece, logprobs?.release(text.length));
  };
  let finishReason: 'stop' | 'length' = 'length';
  let stoppedBySequence = false;
  let calling = false;
  const repeatPenalty = penaltiesOver(sampling, completionTokenIds);
  const grammar = input.grammar;
  const options = {
    ...samplerOptions(sampling, model),
    yieldEogToken: true,
    ...(repeatPenalty === undefined ? {} : { repeatPenalty }),
    ...(grammar === undefined
      ? {}
      : { grammarEvaluationState: new LlamaGrammarEvaluationState({ model, grammar }) }),
  };
  // The same tokens either way: reading the probabilities changes nothing in sampling.
  const tokens =
    logprobs === undefined
      ? sequence.evaluate(toEvaluate, options)
      : withProbabilities(sequence, toEvaluate, options, logprobs);
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
    if (callTriggers.tokens.some((tail) => endsWith(completionTokenIds, tail))) {
      // The trigger's text may be partly held back or emitted already; what it spelled is the call's.
      finishReason = 'stop';
      calling = true;
      stoppedBySequence = true;
      break;
    }
    const decoded = decoder.push(token);
    if (!decoder.holding) logprobs?.decoded(decoded);
    const piece = stops.push(decoded);
    emit(piece.emit);
    if (piece.stopped) {
      finishReason = 'stop';
      stoppedBySequence = true;
      calling = callTriggers.text.includes(stops.matched ?? '');
      break;
    }
    if (completionTokenIds.length >= maxTokens) break;
  }
  if (!stoppedBySequence) {
    const flushed = decoder.flush();
    logprobs?.decoded(flushed);
    const tail = stops.push(flushed);
    emit(tail.emit);
    if (tail.stopped) finishReason = 'stop';
    else emit(stops.flush());
  }
  return {
    text,
    finishReason,
    completionTokenIds,
    calling,
    ...(logprobs === undefined ? {} : { logprobs: logprobs.entries(text.length) }),
  };
}

/** A budget of no tokens (an echoed prompt alone): no text, cut short by the length, as OpenAI answers. */
function nothingGenerated(sampling: SamplingParams): SequenceGenerationOutput {
  return {
    text: '',
    finishReason: 'length',
    completionTokenIds: [],
    calling: false,
    ...(sampling.logprobs === undefined ? {} : { logprobs: [] }),
  };
}

/**
 * The sampled tokens, each told to `logprobs` with its probability (and the distribution it was drawn
 * from, most likely first, when alternatives are asked) before it is yielded.
 */
async function* withProbabilities(
  sequence: LlamaContextSequence,
  tokens: Token[],
  options: Parameters<LlamaContextSequence['evaluate']>[1],
  logprobs: LogprobCollector,
): AsyncGenerator<Token> {
  const alternatives = logprobs.top > 0;
  const sampled = sequence.evaluateWithMetadata(
    tokens,
    { confidence: true, probabilities: alternatives },
    options,
  );
  for await (const next of sampled) {
    const probabilities = alternatives
      ? (next as { probabilities?: Map<Token, number> }).probabilities
      : undefined;
    logprobs.sampled(next.token, next.confidence, probabilities);
    yield next.token;
  }
}

/**
 * The distribution of the token that would follow `promptTokens`, under the request's temperature and
 * top_p: read, not sampled, so the sequence holds the prompt and nothing after it.
 */
export async function nextTokenOdds(input: {
  readonly sequence: LlamaContextSequence;
  readonly promptTokens: readonly Token[];
  readonly sampling: SamplingParams;
  readonly continuing: boolean;
  readonly signal?: AbortSignal | undefined;
}): Promise<ReadonlyMap<Token, number>> {
  const { sequence, sampling, signal } = input;
  // Stopped, it has produced nothing: the caller's partial work is what came before.
  const stopped = (fired: AbortSignal) => {
    const usage = { promptTokens: input.promptTokens.length, completionTokens: 0 };
    return stoppedWith(fired, { text: '', completionTokenIds: [], usage });
  };
  const toEvaluate = await startSequence(sequence, input.promptTokens, input.continuing);
  if (signal?.aborted) throw stopped(signal);
  const options = samplerOptions(sampling, sequence.model);
  // The first item carries the odds; leaving the loop stops before its token enters the sequence.
  for await (const next of sequence.evaluateWithMetadata(toEvaluate, { probabilities: true }, options)) {
    if (signal?.aborted) throw stopped(signal);
    return next.probabilities;
  }
  throw new Error('the sequence yielded no token');
}

/** The tokens the context has left after the prompt; a prompt that leaves none is refused. */
export function roomAfter(
  sequence: LlamaContextSequence,
  promptTokens: readonly Token[],
  promptParam: string | undefined,
): number {
  const room = sequence.contextSize - promptTokens.length;
  if (room > 0) return room;
  throw new PodBadRequestError(
    `The prompt has ${promptTokens.length} tokens; the model's context holds ${sequence.contextSize}`,
    {
      details: { promptTokens: promptTokens.length, contextSize: sequence.contextSize },
      ...(promptParam === undefined ? {} : { param: promptParam }),
    },
  );
}

/** How many tokens of `promptTokens` the sequence holds already, from its start. */
export function sharedPrefix(sequence: LlamaContextSequence, promptTokens: readonly Token[]): number {
  return sequence.compareContextTokens([...promptTokens]).firstDifferentIndex;
}

/**
 * What a sequence keeps of `promptTokens` when it goes on from them: the part it holds, but for at least
 * the last token, evaluated again since its logits are what the next token is sampled from.
 */
export function keptPrefix(sequence: LlamaContextSequence, promptTokens: readonly Token[]): number {
  return Math.min(sharedPrefix(sequence, promptTokens), promptTokens.length - 1);
}

/** Readies the sequence for `promptTokens` and returns the tokens still to evaluate. */
async function startSequence(
  sequence: LlamaContextSequence,
  promptTokens: readonly Token[],
  continuing: boolean,
): Promise<Token[]> {
  if (!continuing) {
    await sequence.clearHistory();
    return [...promptTokens];
  }
  const kept = keptPrefix(sequence, promptTokens);
  await sequence.eraseContextTokenRanges([{ start: kept, end: sequence.nextTokenIndex }]);
  return promptTokens.slice(kept);
}
