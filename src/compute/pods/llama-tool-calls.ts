// Tool calls for the llama-cpp runtime, written in the chat template's own call syntax, which
// node-llama-cpp's chat wrappers know (`||call: name(params)` for the generic ones, the model's own tokens
// for Llama 3.1, Qwen, Functionary...). A turn runs in phases on one sequence: free text until the model
// writes the call's prefix (skipped when a call is forced), the tool's name held to the offered names, then
// its arguments held to the tool's parameter schema by a grammar. One call per turn.
import {
  type ChatModelFunctions,
  type ChatWrapper,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  LlamaText,
  type Token,
} from 'node-llama-cpp';
import { PodAbortedError } from './errors.ts';
import { generateOnSequence, roomAfter, type SequenceGenerationOutput } from './llama-generation.ts';
import { splitTriggers } from './llama-triggers.ts';
import { newToolCallId } from './tool-call-id.ts';
import type { GenerateOptions, SamplingParams, TokenLogprob, Tool, ToolCall, ToolOffer } from './types.ts';

export interface CallSyntax {
  readonly prefix: LlamaText;
  readonly paramsPrefix: LlamaText;
  /** What tells the model began a call: the prefix and its alternates, as text or (special) tokens. */
  readonly triggers: { readonly text: readonly string[]; readonly tokens: readonly (readonly Token[])[] };
}

export function callSyntaxOf(wrapper: ChatWrapper, model: LlamaModel): CallSyntax {
  const call = wrapper.settings.functions.call;
  const prefix = LlamaText(call.prefix);
  const alternates = (call.prefixAlternateMatches ?? []).map((t) => LlamaText(t));
  return {
    prefix,
    paramsPrefix: LlamaText(call.paramsPrefix),
    triggers: splitTriggers(model, [prefix, ...alternates]),
  };
}

/** The tools as the chat template describes them to the model. */
export function chatFunctions(tools: readonly Tool[]): ChatModelFunctions {
  return Object.fromEntries(
    tools.map(({ function: f }) => [
      f.name,
      {
        ...(f.description === undefined ? {} : { description: f.description }),
        ...(f.parameters === undefined ? {} : { params: f.parameters as never }),
      },
    ]),
  );
}

/** A tool without parameters takes none: its arguments are `{}`. */
export function parametersOf(tool: Tool): Record<string, unknown> {
  return tool.function.parameters ?? { type: 'object', properties: {}, additionalProperties: false };
}

export interface ToolTurnInput {
  readonly sequence: LlamaContextSequence;
  readonly promptTokens: readonly Token[];
  readonly sampling: SamplingParams;
  /** The chat template's end-of-turn tokens. */
  readonly stopTokens: readonly (readonly Token[])[];
  /** Holds the text (a response_format) while the model has not begun a call. */
  readonly grammar?: LlamaGrammar | undefined;
  readonly offer: ToolOffer;
  readonly syntax: CallSyntax;
  readonly grammars: {
    names(names: readonly string[]): Promise<LlamaGrammar>;
    parameters(tool: Tool, index: number): Promise<LlamaGrammar>;
  };
  readonly signal?: AbortSignal | undefined;
  readonly onDelta?: GenerateOptions['onDelta'] | undefined;
}

export interface ToolTurnOutput extends Omit<SequenceGenerationOutput, 'calling' | 'finishReason'> {
  readonly finishReason: 'stop' | 'length' | 'tool_calls';
  readonly toolCalls?: readonly ToolCall[];
}

/**
 * One assistant turn that may call a tool. The tokens of a call (its prefix, a forced name) count as
 * completion tokens with the sampled ones: they are the turn's text as the model's context holds it.
 */
export async function generateToolTurn(input: ToolTurnInput): Promise<ToolTurnOutput> {
  const { sequence, promptTokens, sampling, offer, syntax } = input;
  const tokenizer = sequence.model.tokenizer;
  let content = '';
  // Of the text before the call only, as OpenAI's `logprobs.content` (the call's tokens have none).
  let contentLogprobs: TokenLogprob[] | undefined = sampling.logprobs === undefined ? undefined : [];
  if (offer.choice === 'auto') {
    const free = await generateOnSequence({
      ...phase(input),
      promptTokens,
      sampling,
      onDelta: input.onDelta,
      stopTokens: input.stopTokens,
      grammar: input.grammar,
      callTriggers: syntax.triggers,
      promptParam: 'messages',
    });
    if (!free.calling) return free;
    content = free.text;
    contentLogprobs = free.logprobs;
  }
  // The turn's tokens, as for any answer: max_tokens, and what the context has left after the prompt.
  const budget = Math.min(
    sampling.maxTokens ?? Number.POSITIVE_INFINITY,
    roomAfter(sequence, promptTokens, 'messages'),
  );
  const tokens = LlamaText([content, syntax.prefix]).tokenize(tokenizer);
  const turn = new Turn(promptTokens, content, tokens, offer.choice === 'auto', contentLogprobs);
  if (turn.length >= budget) return turn.cut();

  const names = offer.tools.map((tool) => tool.function.name);
  const forced =
    typeof offer.choice === 'object' ? offer.choice.name : names.length === 1 ? names[0] : undefined;
  let name: string;
  if (forced !== undefined) {
    name = forced;
    turn.push(LlamaText(name).tokenize(tokenizer));
  } else {
    const picked = await turn.run(input, await input.grammars.names(names), budget);
    if (picked.finishReason === 'length') return turn.cut();
    name = picked.text;
  }
  turn.push(syntax.paramsPrefix.tokenize(tokenizer));
  if (turn.length >= budget) return turn.cut();

  const index = offer.tools.findIndex((tool) => tool.function.name === name);
  const tool = offer.tools[index];
  if (tool === undefined) throw new Error(`the name grammar chose ${name}, which was not offered`);
  const grammar = await input.grammars.parameters(tool, index);
  const { text: stop } = splitTriggers(
    sequence.model,
    grammar.stopGenerationTriggers.map((t) => LlamaText(t)),
  );
  const args = await turn.run(input, grammar, budget, stop);
  const whole = args.finishReason !== 'length';
  return {
    text: content,
    finishReason: whole ? 'tool_calls' : 'length',
    completionTokenIds: turn.tokens,
    toolCalls: [{ id: newToolCallId(), name, arguments: whole ? compactJson(args.text) : args.text }],
    ...(contentLogprobs === undefined ? {} : { logprobs: contentLogprobs }),
  };
}

/**
 * Arguments as OpenAI writes them, without the layout the grammar let the model choose: whitespace
 * outside strings dropped, nothing else touched (parsing and writing again would round big numbers).
 */
export function compactJson(text: string): string {
  let out = '';
  let inString = false;
  let escaped = false;
  for (const char of text) {
    if (inString) {
      out += char;
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
      out += char;
    } else if (char !== ' ' && char !== '\n' && char !== '\r' && char !== '\t') {
      out += char;
    }
  }
  return out;
}

function phase(input: ToolTurnInput) {
  return { sequence: input.sequence, signal: input.signal };
}

/** The call as it grows: the tokens after the prompt, and a phase run on top of them. */
class Turn {
  readonly tokens: Token[];
  readonly #prompt: readonly Token[];
  readonly #content: string;
  /** The sequence holds this job's earlier phase; else it may hold another job's tokens, never reused. */
  #continuing: boolean;

  readonly #logprobs: TokenLogprob[] | undefined;

  constructor(
    prompt: readonly Token[],
    content: string,
    tokens: Token[],
    continuing: boolean,
    logprobs: TokenLogprob[] | undefined,
  ) {
    this.#prompt = prompt;
    this.#content = content;
    this.tokens = tokens;
    this.#continuing = continuing;
    this.#logprobs = logprobs;
  }

  get length(): number {
    return this.tokens.length;
  }

  push(tokens: readonly Token[]): void {
    this.tokens.push(...tokens);
  }

  /** Ran out of tokens before the call was whole: what the model said, no call. */
  cut(): ToolTurnOutput {
    return {
      text: this.#content,
      finishReason: 'length',
      completionTokenIds: this.tokens,
      ...(this.#logprobs === undefined ? {} : { logprobs: this.#logprobs }),
    };
  }

  /** Samples under `grammar` until it is complete (the model's end token) or the budget runs out. */
  async run(
    input: ToolTurnInput,
    grammar: LlamaGrammar,
    budget: number,
    stop: readonly string[] = [],
  ): Promise<SequenceGenerationOutput> {
    const model = input.sequence.model;
    try {
      const out = await generateOnSequence({
        ...phase(input),
        promptTokens: [...this.#prompt, ...this.tokens],
        sampling: {
          ...input.sampling,
          maxTokens: budget - this.length,
          stop,
          logprobs: undefined,
        },
        grammar,
        continuing: this.#continuing,
      });
      this.#continuing = true;
      this.push(out.completionTokenIds.filter((token) => !model.isEogToken(token)));
      return out;
    } catch (error) {
      throw this.#withTurn(error);
    }
  }

  /** A paid cancel mid-call: the work done is the whole turn so far, not the phase alone. */
  #withTurn(error: unknown): unknown {
    if (!(error instanceof PodAbortedError) || error.partial === undefined) return error;
    const completionTokenIds = [...this.tokens, ...(error.partial.completionTokenIds ?? [])];
    return new PodAbortedError(error.message, {
      cause: error.cause,
      partial: {
        text: this.#content,
        completionTokenIds,
        usage: { promptTokens: this.#prompt.length, completionTokens: completionTokenIds.length },
      },
    });
  }
}
