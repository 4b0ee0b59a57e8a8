// One job on the slot (context sequence) a llama-cpp pod gave it: plain text or a turn that may call
// tools, after scoring the prompt when echo asks; what the slot kept of its last job counted as cached.
import type { LlamaContextSequence, LlamaGrammar, Token } from 'node-llama-cpp';
import { asPodError, PodAbortedError, type PodError } from './errors.ts';
import { generateOnSequence, keptPrefix, roomAfter } from './llama-generation.ts';
import type { LlamaGrammars } from './llama-grammar.ts';
import { scorePrompt } from './llama-prompt-logprobs.ts';
import { type CallSyntax, generateToolTurn, parametersOf } from './llama-tool-calls.ts';
import type {
  GenerateOptions,
  GenerationResult,
  PromptTokenLogprob,
  SamplingParams,
  ToolOffer,
} from './types.ts';

/** What a job needs of the loaded model beyond its slot. */
export interface SlotModel {
  readonly name: string;
  readonly callSyntax: CallSyntax;
  readonly grammars: LlamaGrammars;
}

export interface GenerationExtras {
  stopTokens?: Token[][];
  grammar?: LlamaGrammar | undefined;
  promptParam: string;
  tools?: ToolOffer | undefined;
  /** Messages left out to fit the context (truncation 'auto'). */
  truncated?: number;
  /** Echo with logprobs: the prompt's tokens after `context` scored, with `top` alternatives each. */
  scorePrompt?: { top: number; context: number };
  /** Echo of a prompt given as token ids: its text, which the caller's answer begins with. */
  promptText?: string;
}

/** One job on the slot it was given: plain text, or a turn that may call tools. */
export async function generateOn(
  sequence: LlamaContextSequence,
  loaded: SlotModel,
  job: {
    promptTokens: Token[];
    sampling: SamplingParams;
    signal: AbortSignal;
    onDelta: GenerateOptions['onDelta'];
    onToolCall: GenerateOptions['onToolCall'];
    onPromptLogprobs: GenerateOptions['onPromptLogprobs'];
    onPromptText: GenerateOptions['onPromptText'];
    /** Keep what the slot holds that begins the prompt (prompt caching). */
    reuse: boolean;
  },
  extra: GenerationExtras,
): Promise<GenerationResult> {
  const { promptTokens } = job;
  const scoring = extra.scorePrompt;
  // Scoring evaluates the whole prompt, which the generation then goes on from.
  const reuse = job.reuse || scoring !== undefined;
  // What the slot keeps of its last job, as the generation will.
  const kept = job.reuse && scoring === undefined ? keptPrefix(sequence, promptTokens) : 0;
  try {
    if (extra.promptText !== undefined) job.onPromptText?.(extra.promptText);
    let promptLogprobs: PromptTokenLogprob[] | undefined;
    if (scoring !== undefined) {
      roomAfter(sequence, promptTokens, extra.promptParam); // a prompt too long is refused before the work
      promptLogprobs = await scorePrompt({ sequence, promptTokens, ...scoring, signal: job.signal });
      job.onPromptLogprobs?.(promptLogprobs);
    }
    const input = {
      sequence,
      promptTokens,
      sampling: job.sampling,
      signal: job.signal,
      onDelta: job.onDelta,
      grammar: extra.grammar,
      promptParam: extra.promptParam,
    };
    const output =
      extra.tools === undefined
        ? await generateOnSequence({
            ...input,
            continuing: reuse,
            ...(extra.stopTokens === undefined ? {} : { stopTokens: extra.stopTokens }),
          })
        : await generateToolTurn({
            ...input,
            onToolCall: job.onToolCall,
            reuse,
            stopTokens: extra.stopTokens ?? [],
            offer: extra.tools,
            syntax: loaded.callSyntax,
            grammars: {
              names: (names) => loaded.grammars.oneOf(names),
              parameters: (tool, index) =>
                loaded.grammars.grammarFor(
                  { type: 'json_schema', schema: parametersOf(tool) },
                  toolParametersParam(index),
                ),
            },
          });
    return {
      model: loaded.name,
      text: output.text,
      finishReason: output.finishReason,
      usage: {
        promptTokens: promptTokens.length,
        completionTokens: output.completionTokenIds.length,
        ...(kept > 0 ? { cachedPromptTokens: kept } : {}),
      },
      completionTokenIds: output.completionTokenIds,
      ...('toolCalls' in output && output.toolCalls !== undefined ? { toolCalls: output.toolCalls } : {}),
      ...(output.logprobs === undefined ? {} : { logprobs: output.logprobs }),
      ...(promptLogprobs === undefined ? {} : { promptLogprobs }),
      ...(extra.promptText === undefined ? {} : { promptText: extra.promptText }),
      ...(extra.truncated === undefined || extra.truncated === 0
        ? {}
        : { truncatedMessages: extra.truncated }),
    };
  } catch (error) {
    const failure = asPodError(error, 'Generation failed');
    // A stop leaves the slot's context as evaluated; after a failure nothing in it is trusted again.
    if (!(failure instanceof PodAbortedError)) await sequence.clearHistory().catch(() => {});
    throw withPromptFacts(failure, extra.truncated, kept);
  }
}

/**
 * A paid cancel's partial work says what the model saw and what of it the slot held, as a whole answer
 * does.
 */
function withPromptFacts(error: PodError, truncated: number | undefined, cached: number): PodError {
  if (!(error instanceof PodAbortedError) || error.partial === undefined) return error;
  if (!truncated && cached === 0) return error;
  const { partial } = error;
  return new PodAbortedError(error.message, {
    cause: error.cause,
    partial: {
      ...partial,
      ...(truncated ? { truncatedMessages: truncated } : {}),
      ...(cached > 0 ? { usage: { ...partial.usage, cachedPromptTokens: cached } } : {}),
    },
  });
}

export function toolParametersParam(index: number): string {
  return `tools[${index}].function.parameters`;
}
