// The parts of OpenAI's wire format the upstream runtime reads. Loose on purpose: servers (vLLM, SGLang,
// Ollama, llama.cpp) add their own fields, and some send null where OpenAI omits.
import { z } from 'zod';
import type { ToolCallDelta } from '../../protocol/messages/jobs.ts';
import { PodUpstreamError } from './errors.ts';
import { newToolCallId } from './tool-call-id.ts';
import type {
  FinishReason,
  NormalizedMessage,
  ResponseFormat,
  SamplingParams,
  TokenUsage,
  ToolCall,
  ToolOffer,
} from './types.ts';

// A usage block that is missing or malformed counts as not reported.
const UsageWire = z
  .object({
    prompt_tokens: z.int().min(0),
    completion_tokens: z.int().min(0),
    // vLLM's and SGLang's prefix caching, as OpenAI reports its own; a malformed one counts as none.
    prompt_tokens_details: z
      .object({ cached_tokens: z.int().min(0) })
      .nullish()
      .catch(null),
  })
  .nullish()
  .catch(null);
const EmbeddingUsageWire = z
  .object({ prompt_tokens: z.int().min(0) })
  .nullish()
  .catch(null);

const FinishWire = z.string().nullish();

/** Kept as sent: read (see openai-wire-logprobs.ts) only when the request asked for them. */
const LogprobsWire = z.unknown().optional();

/** JSON text as OpenAI sends it; Ollama sends the parsed object. */
const ArgumentsWire = z.union([z.string(), z.record(z.string(), z.unknown())]).nullish();

/** Some servers leave out `type` (only functions exist for them) or the id. */
const FunctionCallWire = z.object({
  id: z.string().nullish(),
  type: z.literal('function').nullish(),
  function: z.object({ name: z.string().min(1), arguments: ArgumentsWire }),
});
/** Calls of other kinds of tool (OpenAI's `custom`): never offered by a pod, so skipped. */
const OtherCallWire = z.object({ type: z.string().refine((type) => type !== 'function') });

export const ChatResponseWire = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          tool_calls: z.array(z.union([FunctionCallWire, OtherCallWire])).nullish(),
        }),
        logprobs: LogprobsWire,
        finish_reason: FinishWire,
      }),
    )
    .min(1),
  usage: UsageWire,
});

/** A piece of a streamed call: the first of a call names it, the later ones add to its arguments. */
const ToolCallPieceWire = z.object({
  /** Which call the piece belongs to; a server that leaves it out is taken to number them by position. */
  index: z.int().min(0).optional(),
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: ArgumentsWire }).nullish(),
});
export type ToolCallPiece = z.output<typeof ToolCallPieceWire>;

export const CompletionResponseWire = z.object({
  model: z.string().optional(),
  choices: z.array(z.object({ text: z.string(), logprobs: LogprobsWire, finish_reason: FinishWire })).min(1),
  usage: UsageWire,
});

/** One streamed chunk of either endpoint: chat puts text in `delta.content`, completions in `text`. */
export const StreamChunkWire = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        delta: z
          .object({ content: z.string().nullish(), tool_calls: z.array(ToolCallPieceWire).nullish() })
          .nullish(),
        text: z.string().nullish(),
        logprobs: LogprobsWire,
        finish_reason: FinishWire,
      }),
    )
    .optional(),
  usage: UsageWire,
});

export const EmbeddingResponseWire = z.object({
  model: z.string().optional(),
  data: z.array(z.object({ embedding: z.array(z.number()), index: z.int().min(0) })).min(1),
  usage: EmbeddingUsageWire,
});

export const ModelListWire = z.object({
  data: z.array(z.object({ id: z.string(), max_model_len: z.int().min(1).optional() })),
});

/** Some servers send `{ error: { message } }` or `{ error: "..." }`, in bodies and inside streams. */
export const ErrorBodyWire = z.object({
  error: z.union([z.string(), z.object({ message: z.string().optional() })]),
});

/**
 * Calls make the answer `tool_calls` whatever the upstream named it (Ollama says 'stop'), unless it was cut
 * short (`length`: the last call's arguments may be incomplete). An upstream's 'tool_calls' (or the older
 * 'function_call') with no function call in the answer is a plain stop.
 */
export function finishReasonOf(wire: string | null | undefined, toolCalls = 0): FinishReason {
  if (wire === 'length') return 'length';
  return toolCalls > 0 ? 'tool_calls' : 'stop';
}

/** Missing arguments are taken as none; an object (Ollama) becomes the JSON text OpenAI sends. */
function argumentsText(wire: z.output<typeof ArgumentsWire>): string {
  if (wire === null || wire === undefined) return '{}';
  return typeof wire === 'string' ? wire : JSON.stringify(wire);
}

type ToolCallsWire = z.output<typeof ChatResponseWire>['choices'][number]['message']['tool_calls'];

/** The function calls of a whole answer, in order; other kinds are skipped. */
export function toolCallsOf(wire: ToolCallsWire): ToolCall[] {
  return (wire ?? []).flatMap((call) => ('function' in call ? [functionCallOf(call)] : []));
}

function functionCallOf(call: z.output<typeof FunctionCallWire>): ToolCall {
  const { name, arguments: args } = call.function;
  return { id: call.id || newToolCallId(), name, arguments: argumentsText(args) };
}

interface CallInProgress {
  id: string;
  name: string;
  /** Undefined until a piece brings some. */
  arguments: string | undefined;
  /** Not a function call: its later pieces are dropped too. */
  skipped: boolean;
  /** Its place among the calls, given when it is first named (calls are numbered as they begin). */
  order: number | undefined;
}

/**
 * A stream's calls, assembled by `index`: id and name come once, arguments arrive in pieces. With `relay`,
 * each call's pieces are passed on as they come (see `GenerateOptions.onToolCall`), from the piece that
 * names it.
 */
export class StreamedToolCalls {
  private readonly calls = new Map<number, CallInProgress>();
  private named = 0;

  constructor(private readonly relay?: (piece: ToolCallDelta) => void) {}

  /** Takes a chunk's pieces; returns how many belong to function calls (each holds a token at least). */
  add(pieces: readonly ToolCallPiece[]): number {
    let taken = 0;
    for (const [position, piece] of pieces.entries()) {
      const call = this.callAt(piece.index ?? position, piece);
      if (call.skipped) continue;
      taken += 1;
      // Some servers repeat the id and name in every piece: the first ones stand.
      if (call.id === '' && piece.id) call.id = piece.id;
      if (call.name === '' && piece.function?.name) call.name = piece.function.name;
      const args = piece.function?.arguments;
      const text = args === null || args === undefined ? '' : argumentsText(args);
      if (args !== null && args !== undefined) call.arguments = (call.arguments ?? '') + text;
      if (call.order === undefined && call.name !== '') this.open(call);
      else if (call.order !== undefined && text !== '') this.relay?.({ index: call.order, arguments: text });
    }
    return taken;
  }

  /** The calls in the order they began; a call the stream never named is an upstream fault. */
  result(): ToolCall[] {
    const calls = [...this.calls.values()].filter((call) => !call.skipped);
    if (calls.some((call) => call.order === undefined)) {
      throw new PodUpstreamError('Upstream sent a malformed stream chunk: a tool call without a name');
    }
    return calls
      .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
      .map((call) => {
        if (call.arguments === undefined) this.noArguments(call);
        return { id: call.id || newToolCallId(), name: call.name, arguments: call.arguments ?? '{}' };
      });
  }

  private open(call: CallInProgress): void {
    // Calls come one after another: one that began and brought no arguments takes none.
    for (const before of this.calls.values()) {
      if (before.order !== undefined && before.arguments === undefined) this.noArguments(before);
    }
    call.order = this.named++;
    if (this.relay === undefined) return;
    // Relayed, the call is named now: an id the server sends later would contradict the one passed on.
    if (call.id === '') call.id = newToolCallId();
    this.relay({ index: call.order, id: call.id, name: call.name, arguments: call.arguments ?? '' });
  }

  /** A call without arguments takes none: `{}`, passed on too, so its pieces add up to it. */
  private noArguments(call: CallInProgress): void {
    call.arguments = '{}';
    if (call.order !== undefined) this.relay?.({ index: call.order, arguments: call.arguments });
  }

  private callAt(index: number, first: ToolCallPiece): CallInProgress {
    let call = this.calls.get(index);
    if (call === undefined) {
      const skipped = first.type !== null && first.type !== undefined && first.type !== 'function';
      call = { id: '', name: '', arguments: undefined, skipped, order: undefined };
      this.calls.set(index, call);
    }
    return call;
  }
}

/** Usage as reported; null when the upstream left it out (nothing is guessed). */
export function usageOf(wire: z.output<typeof UsageWire>): TokenUsage | null {
  if (wire === null || wire === undefined) return null;
  const cached = Math.min(wire.prompt_tokens_details?.cached_tokens ?? 0, wire.prompt_tokens);
  return {
    promptTokens: wire.prompt_tokens,
    completionTokens: wire.completion_tokens,
    ...(cached > 0 ? { cachedPromptTokens: cached } : {}),
  };
}

export function errorMessageOf(body: unknown): string | undefined {
  const parsed = ErrorBodyWire.safeParse(body);
  if (!parsed.success) return undefined;
  return typeof parsed.data.error === 'string' ? parsed.data.error : parsed.data.error.message;
}

/** The sampling fields every one of these servers understands (response_format: chat only). */
export function samplingBody(sampling: SamplingParams): Record<string, unknown> {
  const format = sampling.responseFormat;
  return {
    ...(sampling.maxTokens === undefined ? {} : { max_tokens: sampling.maxTokens }),
    ...(sampling.temperature === undefined ? {} : { temperature: sampling.temperature }),
    ...(sampling.topP === undefined ? {} : { top_p: sampling.topP }),
    ...(sampling.seed === undefined ? {} : { seed: sampling.seed }),
    ...(sampling.stop.length === 0 ? {} : { stop: sampling.stop }),
    ...(sampling.presencePenalty === undefined ? {} : { presence_penalty: sampling.presencePenalty }),
    ...(sampling.frequencyPenalty === undefined ? {} : { frequency_penalty: sampling.frequencyPenalty }),
    ...(sampling.logitBias === undefined ? {} : { logit_bias: Object.fromEntries(sampling.logitBias) }),
    ...(format === undefined ? {} : { response_format: responseFormatBody(format) }),
  };
}

/** OpenAI's shape; the schema's name is not ours to know (the gateway keeps only the schema), nor needed. */
function responseFormatBody(format: ResponseFormat): Record<string, unknown> {
  if (format.type === 'json_object') return { type: 'json_object' };
  return { type: 'json_schema', json_schema: { name: 'response', schema: format.schema, strict: true } };
}

interface ToolCallBody {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

interface MessageWire {
  role: string;
  /** Null for an assistant turn that only made calls, as OpenAI sends it (some servers reject ''). */
  content: string | null;
  tool_calls?: ToolCallBody[];
  tool_call_id?: string;
}

function toolCallBody(call: ToolCall): ToolCallBody {
  return { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } };
}

export function messagesBody(messages: readonly NormalizedMessage[]): MessageWire[] {
  return messages.map((m) => {
    const calls = m.toolCalls ?? [];
    return {
      role: m.role,
      content: m.content === '' && calls.length > 0 ? null : m.content,
      ...(calls.length === 0 ? {} : { tool_calls: calls.map(toolCallBody) }),
      ...(m.toolCallId === undefined ? {} : { tool_call_id: m.toolCallId }),
    };
  });
}

/**
 * The offer in OpenAI's shape, tool_choice 'none' too (the server's template may still show the tools,
 * as OpenAI does); nothing without tools.
 */
export function toolsBody(offer: ToolOffer | undefined): Record<string, unknown> {
  if (offer === undefined) return {};
  const { choice } = offer;
  return {
    tools: offer.tools,
    tool_choice: typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } },
    // Sent only to forbid: servers differ in their default, and the caller who said nothing gets theirs.
    ...(offer.parallel ? {} : { parallel_tool_calls: false }),
  };
}
