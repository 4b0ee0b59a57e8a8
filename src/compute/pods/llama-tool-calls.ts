// Tool calls for the llama-cpp runtime, written in the chat template's own call syntax, which
// node-llama-cpp's chat wrappers know (`||call: name(params)` for the generic ones, the model's own tokens
// for Llama 3, Qwen, Mistral, Functionary...). A turn runs in phases on one sequence: free text until the
// model writes the call's prefix (skipped when a call is forced), the tool's name held to the offered names,
// then its arguments held to the tool's parameter schema by a grammar; where the template writes several
// calls in a turn, the model may then begin another (llama-next-call.ts).
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
import {
  generateOnSequence,
  nextTokenOdds,
  roomAfter,
  type SequenceGenerationOutput,
} from './llama-generation.ts';
import { callDraw, callsAgain } from './llama-next-call.ts';
import { splitTriggers } from './llama-triggers.ts';
import { newToolCallId } from './tool-call-id.ts';
import type { GenerateOptions, SamplingParams, TokenLogprob, Tool, ToolCall, ToolOffer } from './types.ts';

/** At most this many calls in one turn: a model that never ends its calls stops there. */
export const MAX_CALLS_PER_TURN = 16;

export interface CallSyntax {
  /** What opens a turn's calls: the template's opening of several calls (if any) and a call's prefix. */
  readonly opening: LlamaText;
  /** Between a call's name and its arguments. */
  paramsPrefix(name: string): LlamaText;
  /** What tells the model began a call: the opening and its alternates, as text or (special) tokens. */
  readonly triggers: { readonly text: readonly string[]; readonly tokens: readonly (readonly Token[])[] };
  /** How another call follows one in the same turn; absent where the template writes one call a turn. */
  readonly parallel?: {
    /** Closes a call. */
    suffix(name: string): LlamaText;
    /** Begins the next one: what goes between calls, then a call's prefix. */
    readonly next: LlamaText;
    /** Closes the turn's calls. */
    readonly sectionSuffix: LlamaText;
  };
}

export function callSyntaxOf(wrapper: ChatWrapper, model: LlamaModel): CallSyntax {
  const { call, parallelism } = wrapper.settings.functions;
  const section = parallelism?.call;
  const openings = [section?.sectionPrefix ?? '', ...(section?.sectionPrefixAlternateMatches ?? [])];
  const prefixes = [call.prefix, ...(call.prefixAlternateMatches ?? [])];
  return {
    opening: LlamaText([section?.sectionPrefix ?? '', call.prefix]),
    paramsPrefix: (name) => withName(call.paramsPrefix, name),
    triggers: splitTriggers(
      model,
      openings.flatMap((opening) => prefixes.map((prefix) => LlamaText([opening, prefix]))),
    ),
    ...(section === undefined
      ? {}
      : {
          parallel: {
            suffix: (name: string) => withName(call.suffix, name),
            next: LlamaText([section.betweenCalls ?? '', call.prefix]),
            sectionSuffix: LlamaText(section.sectionSuffix ?? ''),
          },
        }),
  };
}

/** Templates may name the function around its arguments (`{{functionName}}`, in plain text only). */
function withName(text: string | LlamaText, name: string): LlamaText {
  return LlamaText(text).mapValues((value) =>
    typeof value === 'string' ? value.replaceAll('{{functionName}}', name) : value,
  );
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
  readonly onToolCall?: GenerateOptions['onToolCall'] | undefined;
  /** The sequence may keep an earlier job's tokens that begin the prompt (prompt caching). */
  readonly reuse?: boolean;
}

export interface ToolTurnOutput extends Omit<SequenceGenerationOutput, 'calling' | 'finishReason'> {
  readonly finishReason: 'stop' | 'length' | 'tool_calls';
  readonly toolCalls?: readonly ToolCall[];
}

/**
 * One assistant turn that may call tools. The tokens of its calls (their prefixes, forced names, what the
 * template writes between and after them) count as completion tokens with the sampled ones: they are the
 * turn's text as the model's context holds it.
 */
export async function generateToolTurn(input: ToolTurnInput): Promise<ToolTurnOutput> {
  const { sequence, promptTokens, sampling, offer, syntax } = input;
  const tokenizer = sequence.model.tokenizer;
  let content = '';
  // Of the text before the calls only, as OpenAI's `logprobs.content` (the calls' tokens have none).
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
      continuing: input.reuse === true,
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
  const tokens = LlamaText([content, syntax.opening]).tokenize(tokenizer);
  const continuing = offer.choice === 'auto' || input.reuse === true;
  const turn = new Turn(promptTokens, content, tokens, continuing, contentLogprobs);
  const names = offer.tools.map((tool) => tool.function.name);
  const forced =
    typeof offer.choice === 'object' ? offer.choice.name : names.length === 1 ? names[0] : undefined;
  // A named tool_choice asks for that call, once.
  const parallel = offer.parallel && typeof offer.choice !== 'object' ? syntax.parallel : undefined;
  for (;;) {
    if (turn.length >= budget) return turn.cut();
    let name: string;
    if (forced !== undefined) {
      name = forced;
      turn.push(LlamaText(name).tokenize(tokenizer));
    } else {
      const picked = await turn.run(input, await input.grammars.names(names), budget);
      if (picked.finishReason === 'length') return turn.cut();
      name = picked.text;
    }
    turn.push(syntax.paramsPrefix(name).tokenize(tokenizer));
    if (turn.length >= budget) return turn.cut();

    const index = offer.tools.findIndex((tool) => tool.function.name === name);
    const tool = offer.tools[index];
    if (tool === undefined) throw new Error(`the name grammar chose ${name}, which was not offered`);
    const grammar = await input.grammars.parameters(tool, index);
    const { text: stop } = splitTriggers(
      sequence.model,
      grammar.stopGenerationTriggers.map((t) => LlamaText(t)),
    );
    const call = { index: turn.calls.length, id: newToolCallId(), name };
    input.onToolCall?.({ ...call, arguments: '' });
    // The arguments are streamed as they will be returned: compacted as they come.
    const compact = new JsonCompactor();
    const streamed = input.onToolCall;
    const onDelta =
      streamed === undefined
        ? undefined
        : (text: string) => {
            const piece = compact.push(text);
            if (piece !== '') streamed({ index: call.index, arguments: piece });
          };
    const args = await turn.run(input, grammar, budget, stop, onDelta);
    const whole = { id: call.id, name, arguments: compactJson(args.text) };
    if (args.finishReason === 'length') return turn.cut(whole);
    turn.calls.push(whole);
    if (parallel === undefined || turn.calls.length >= MAX_CALLS_PER_TURN) return turn.done();
    // The call is closed as the template writes it before the model says whether another follows.
    const closing = parallel.suffix(name).tokenize(tokenizer);
    const next = parallel.next.tokenize(tokenizer);
    if (turn.length + closing.length + next.length >= budget) return turn.done();
    turn.push(closing);
    if (!(await turn.callsAgain(input, next, parallel.sectionSuffix.tokenize(tokenizer)))) return turn.done();
    turn.push(next);
  }
}

/**
 * Arguments as OpenAI writes them, without the layout the grammar let the model choose: whitespace
 * outside strings dropped, nothing else touched (parsing and writing again would round big numbers).
 */
export function compactJson(text: string): string {
  return new JsonCompactor().push(text);
}

/** `compactJson` over text that arrives in pieces: each piece's compacted part, as it comes. */
export class JsonCompactor {
  #inString = false;
  #escaped = false;

  push(text: string): string {
    let out = '';
    for (const char of text) {
      if (this.#inString) {
        out += char;
        if (this.#escaped) this.#escaped = false;
        else if (char === '\\') this.#escaped = true;
        else if (char === '"') this.#inString = false;
      } else if (char === '"') {
        this.#inString = true;
        out += char;
      } else if (char !== ' ' && char !== '\n' && char !== '\r' && char !== '\t') {
        out += char;
      }
    }
    return out;
  }
}

function phase(input: ToolTurnInput) {
  return { sequence: input.sequence, signal: input.signal };
}

/** The calls as they grow: the tokens after the prompt, and a phase run on top of them. */
class Turn {
  readonly tokens: Token[];
  /** The calls made whole so far. */
  readonly calls: ToolCall[] = [];
  readonly #prompt: readonly Token[];
  readonly #content: string;
  /** The sequence holds this job's earlier phase, or may keep another job's tokens (prompt caching). */
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

  /** Ran out of tokens: the calls made whole, and the one under way if its arguments had begun. */
  cut(partial?: ToolCall): ToolTurnOutput {
    return this.#output('length', partial === undefined ? this.calls : [...this.calls, partial]);
  }

  /** The model ended its calls (or may make no more). */
  done(): ToolTurnOutput {
    return this.#output('tool_calls', this.calls);
  }

  #output(finishReason: ToolTurnOutput['finishReason'], calls: readonly ToolCall[]): ToolTurnOutput {
    return {
      text: this.#content,
      finishReason,
      completionTokenIds: this.tokens,
      ...(calls.length === 0 ? {} : { toolCalls: calls }),
      ...(this.#logprobs === undefined ? {} : { logprobs: this.#logprobs }),
    };
  }

  /**
   * Whether the model begins another call (`next`) rather than ending its calls (`sectionSuffix`, or an
   * end-of-turn token), by its odds after the call just closed.
   */
  async callsAgain(
    input: ToolTurnInput,
    next: readonly Token[],
    sectionSuffix: readonly Token[],
  ): Promise<boolean> {
    const [first] = next;
    if (first === undefined) return false;
    const { model } = input.sequence;
    const ends = new Set<Token>();
    for (const end of [sectionSuffix, ...input.stopTokens, [model.tokens.eos], [model.tokens.eot]]) {
      if (end[0] != null) ends.add(end[0]);
    }
    let odds: ReadonlyMap<Token, number>;
    try {
      odds = await nextTokenOdds({
        ...phase(input),
        promptTokens: [...this.#prompt, ...this.tokens],
        sampling: input.sampling,
        continuing: this.#continuing,
      });
    } catch (error) {
      throw this.#withTurn(error);
    }
    this.#continuing = true;
    const { seed, temperature } = input.sampling;
    return callsAgain(odds, { next: first, ends }, callDraw(seed, this.calls.length), temperature === 0);
  }

  /** Samples under `grammar` until it is complete (the model's end token) or the budget runs out. */
  async run(
    input: ToolTurnInput,
    grammar: LlamaGrammar,
    budget: number,
    stop: readonly string[] = [],
    onDelta?: (text: string) => void,
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
        onDelta,
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
