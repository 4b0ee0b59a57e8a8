// What a pod runtime accepts and returns: a subset of OpenAI's request bodies (snake_case, so the
// router can hand a body over unchanged; unknown fields are ignored) and runtime-neutral results.

import { z } from 'zod';
import type { ToolCallDelta } from '../../protocol/messages/jobs.ts';
import { inputsOf, MAX_COMPLETION_LOGPROBS, MAX_TOP_LOGPROBS } from '../../protocol/openai.ts';
import { LogitBiasSchema, logitBiasMap } from '../../protocol/openai-logit-bias.ts';
import { formatPath } from '../../protocol/schema-errors.ts';
import { PodBadRequestError } from './errors.ts';

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });

const ToolCallSchema = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

export const ChatMessageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    /** Null only for an assistant turn that made calls and said nothing. */
    content: z.union([z.string(), z.array(TextPartSchema)]).nullish(),
    /** An assistant turn's calls. */
    tool_calls: z.array(ToolCallSchema).nullish(),
    /** A tool message: the call it answers. */
    tool_call_id: z.string().min(1).optional(),
  })
  .superRefine((message, ctx) => {
    if (message.content == null && message.role !== 'assistant') {
      ctx.addIssue({ code: 'custom', message: 'content is required', path: ['content'] });
    }
    if (message.role === 'tool' && message.tool_call_id === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a tool message names its call', path: ['tool_call_id'] });
    }
  });

const ToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
]);

const SamplingSchema = z.object({
  /** Informational: a runtime serves one model. */
  model: z.string().optional(),
  max_tokens: z.int().min(1).nullish(),
  /** Wins over max_tokens when both are given (OpenAI deprecated max_tokens). */
  max_completion_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.int().nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  /** Token ids of the model's vocabulary → a bias added to their logits (-100 to 100). */
  logit_bias: LogitBiasSchema.nullish(),
});

/** JSON output, held to a JSON Schema when one is given; plain text when absent. */
const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('json_object') }),
  z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }),
]);

export const ChatRequestSchema = SamplingSchema.extend({
  messages: z.array(ChatMessageSchema).min(1),
  /** Each generated token's log probability, with `top_logprobs` alternatives (0–20). */
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
  response_format: ResponseFormatSchema.nullish(),
  /** Offered to the model; it may answer with calls of them instead of text. */
  tools: z.array(ToolSchema).nullish(),
  /** Default 'auto': the model decides; 'required' or a named tool forces a call; 'none' forbids one. */
  tool_choice: ToolChoiceSchema.nullish(),
  /** Default true: the model may make several calls in one turn (where its template writes them). */
  parallel_tool_calls: z.boolean().nullish(),
  /**
   * 'auto': a conversation that outgrows the model's context loses its oldest messages until it fits
   * (message-truncation.ts); default 'disabled': it is refused.
   */
  truncation: z.enum(['auto', 'disabled']).nullish(),
});
/** Token ids of the model's vocabulary, which the runtime checks against it. */
const TokenIdsSchema = z.array(z.int().min(0)).min(1);

export const CompletionRequestSchema = SamplingSchema.extend({
  /** Text, or token ids taken as they are (no BOS added). */
  prompt: z.union([z.string(), TokenIdsSchema]),
  /** Fill in the middle: the text after the gap, which the answer is written to lead up to ('' : none). */
  suffix: z.string().nullish(),
  /** OpenAI's legacy field: each token's log probability with this many alternatives (0–5). */
  logprobs: z.int().min(0).max(MAX_COMPLETION_LOGPROBS).nullish(),
  /** With `logprobs`: the prompt's tokens are scored too (`GenerationResult.promptLogprobs`). */
  echo: z.boolean().nullish(),
  /** 0: nothing generated (the prompt alone, scored with echo). */
  max_tokens: z.int().min(0).nullish(),
  max_completion_tokens: z.int().min(0).nullish(),
});
export const EmbeddingRequestSchema = z.object({
  model: z.string().optional(),
  input: z.union([
    z.string().min(1),
    z.array(z.string().min(1)).min(1).max(2048),
    TokenIdsSchema,
    z.array(TokenIdsSchema).min(1).max(2048),
  ]),
  /** Asked of an upstream server (OpenAI's); a llama-cpp pod answers its model's size (the miner cuts). */
  dimensions: z.int().min(1).max(65_536).optional(),
});

export type ChatMessage = z.input<typeof ChatMessageSchema>;
export type ChatRequest = z.input<typeof ChatRequestSchema>;
export type CompletionRequest = z.input<typeof CompletionRequestSchema>;
export type EmbeddingRequest = z.input<typeof EmbeddingRequestSchema>;
export type ResponseFormat = z.output<typeof ResponseFormatSchema>;
export type Tool = z.output<typeof ToolSchema>;

/** A call the model made: `arguments` is JSON text (cut short when the answer hit max_tokens). */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** The tools a job offers and whether the model must call one (and which). */
export interface ToolOffer {
  readonly tools: readonly Tool[];
  /** 'none': the tools are shown (an upstream passes them on) but no call may be made. */
  readonly choice: 'none' | 'auto' | 'required' | { readonly name: string };
  /** Several calls may be made in one turn (OpenAI's `parallel_tool_calls`, default true). */
  readonly parallel: boolean;
}

/** Sampling settings after validation; undefined means the runtime's default. */
export interface SamplingParams {
  readonly maxTokens: number | undefined;
  readonly temperature: number | undefined;
  readonly topP: number | undefined;
  readonly seed: number | undefined;
  readonly stop: readonly string[];
  /** OpenAI's: subtracted from a token's logit once if it was generated before (presence), per time (frequency). */
  readonly presencePenalty: number | undefined;
  readonly frequencyPenalty: number | undefined;
  /** OpenAI's `logit_bias`: added to these tokens' logits before sampling; undefined: none. */
  readonly logitBias?: ReadonlyMap<number, number> | undefined;
  /** Chat only: undefined means plain text. */
  readonly responseFormat?: ResponseFormat | undefined;
  /** Each token's log probability with this many alternatives (0: none); undefined: not asked. */
  readonly logprobs?: number | undefined;
}

export { UNWRITABLE_LOGPROB } from '../../protocol/openai-logprobs.ts';

/** A token and its log probability (natural log), as a logprobs entry names an alternative. */
export interface TokenChoice {
  /** The token's text; '' for a token inside a character split over several tokens (see `bytes`). */
  readonly token: string;
  /** At most 0; -9999 stands for a probability too small to write (as OpenAI writes it). */
  readonly logprob: number;
  /** The UTF-8 bytes of `token`: joined over the tokens, the bytes of the text. */
  readonly bytes: readonly number[];
}

/** One generated token with its log probability and the most likely tokens at its place. */
export interface TokenLogprob extends TokenChoice {
  /** As many as asked (fewer when the sampler left fewer), most likely first. */
  readonly top: readonly TokenChoice[];
}

/**
 * A prompt token with its log probability under the model given the tokens before it; the first token of
 * a prompt that nothing comes before (a model without a BOS token, or token ids sent as such) has none.
 */
export type PromptTokenLogprob =
  | TokenLogprob
  | (Omit<TokenChoice, 'logprob'> & { readonly logprob: null; readonly top: null });

export interface NormalizedMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string;
  /** An assistant turn's calls. */
  readonly toolCalls?: readonly ToolCall[];
  /** A tool message: the call it answers. */
  readonly toolCallId?: string;
}

/** `tool_calls`: the answer is the calls in `toolCalls`, for the caller to run. */
export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Of `promptTokens`, those whose context was kept from an earlier job (prompt caching); absent: none. */
  readonly cachedPromptTokens?: number;
}

export interface GenerationResult {
  /** The model that produced the text (an upstream may name it differently from the request). */
  readonly model: string;
  readonly text: string;
  readonly finishReason: FinishReason;
  /** Counted by the model's tokenizer; null when an upstream reported none (nothing is guessed). */
  readonly usage: TokenUsage | null;
  /** Every token the model sampled, in order, stop tokens included (llama-cpp only): what validators re-score. */
  readonly completionTokenIds?: readonly number[];
  /** The calls the model made, in order; absent when it made none. */
  readonly toolCalls?: readonly ToolCall[];
  /** When asked (`SamplingParams.logprobs`): one entry per token of `text`, in order. */
  readonly logprobs?: readonly TokenLogprob[];
  /** Echo with logprobs: one entry per prompt token (after the BOS the pod added; ids one for one). */
  readonly promptLogprobs?: readonly PromptTokenLogprob[];
  /** A completion with `echo` whose prompt came as token ids: the text they spell (a BOS sent too). */
  readonly promptText?: string;
  /** With `truncation: 'auto'`: how many of the oldest messages were left out to fit the context. */
  readonly truncatedMessages?: number;
}

export interface EmbeddingResult {
  readonly model: string;
  /** One vector per input, in input order. */
  readonly vectors: number[][];
  readonly usage: { readonly promptTokens: number } | null;
}

export interface GenerateOptions {
  readonly signal?: AbortSignal;
  /**
   * Called with each piece of text as tokens are produced; pieces concatenate to the final text. When log
   * probabilities were asked, those of the tokens the piece's text comes from (all of them, over the
   * pieces, are the result's).
   */
  readonly onDelta?: (text: string, logprobs?: readonly TokenLogprob[]) => void;
  /**
   * Chat: called with each piece of a tool call as the model writes it, after the last `onDelta`. A call's
   * first piece names it (`id`, `name`), every piece adds to its arguments; calls are numbered from 0 in
   * the order they begin, and the pieces of each concatenate to the result's call.
   */
  readonly onToolCall?: (piece: ToolCallDelta) => void;
  /** A completion with echo and logprobs: its prompt's entries, once scored, before any `onDelta`. */
  readonly onPromptLogprobs?: (entries: readonly PromptTokenLogprob[]) => void;
  /** A completion with echo whose prompt came as token ids: its text, before anything else. */
  readonly onPromptText?: (text: string) => void;
}

export interface EmbedOptions {
  readonly signal?: AbortSignal;
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue === undefined ? '' : formatPath(issue.path);
  const message = issue === undefined ? 'invalid request' : issue.message;
  throw new PodBadRequestError(param === '' ? message : `${param}: ${message}`, {
    ...(param === '' ? {} : { param }),
    cause: parsed.error,
  });
}

function sampling(request: z.output<typeof SamplingSchema>): SamplingParams {
  const stop = request.stop ?? [];
  return {
    maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
    temperature: request.temperature ?? undefined,
    topP: request.top_p ?? undefined,
    seed: request.seed ?? undefined,
    stop: typeof stop === 'string' ? [stop] : stop,
    presencePenalty: request.presence_penalty ?? undefined,
    frequencyPenalty: request.frequency_penalty ?? undefined,
    logitBias: logitBiasMap(request.logit_bias),
  };
}

export function parseChatRequest(value: unknown): {
  messages: NormalizedMessage[];
  sampling: SamplingParams;
  tools: ToolOffer | undefined;
  truncation: 'auto' | 'disabled';
} {
  const request = parse(ChatRequestSchema, value);
  const messages = request.messages.map((message): NormalizedMessage => {
    const content = message.content ?? '';
    return {
      // `developer` is OpenAI's newer name for `system`.
      role: message.role === 'developer' ? 'system' : message.role,
      content: typeof content === 'string' ? content : content.map((p) => p.text).join(''),
      ...(message.tool_calls == null || message.tool_calls.length === 0
        ? {}
        : { toolCalls: message.tool_calls.map((c) => ({ id: c.id, ...c.function })) }),
      ...(message.tool_call_id === undefined ? {} : { toolCallId: message.tool_call_id }),
    };
  });
  const responseFormat = request.response_format ?? undefined;
  const logprobs = request.logprobs === true ? (request.top_logprobs ?? 0) : undefined;
  return {
    messages,
    sampling: { ...sampling(request), responseFormat, logprobs },
    tools: toolOffer(request),
    truncation: request.truncation ?? 'disabled',
  };
}

/** The offer a model sees: none without tools. */
function toolOffer(request: z.output<typeof ChatRequestSchema>): ToolOffer | undefined {
  const tools = request.tools ?? [];
  const choice = request.tool_choice ?? 'auto';
  const parallel = request.parallel_tool_calls !== false;
  if (tools.length === 0) return undefined;
  if (typeof choice === 'string') return { tools, choice, parallel };
  const named = tools.find((tool) => tool.function.name === choice.function.name);
  if (named === undefined) {
    throw new PodBadRequestError(`tool_choice: no tool named ${choice.function.name} is offered`, {
      param: 'tool_choice',
    });
  }
  return { tools, choice: { name: choice.function.name }, parallel };
}

export function parseCompletionRequest(value: unknown): {
  /** Text, or token ids. */
  prompt: string | number[];
  /** The text after the gap the answer fills; undefined: none (an empty suffix is none, as OpenAI's). */
  suffix: string | undefined;
  sampling: SamplingParams;
  /** Alternatives per prompt token to score the prompt with (echo with logprobs); undefined: not scored. */
  promptLogprobs: number | undefined;
  /** The answer begins with the prompt (the gateway writes it; a prompt of token ids needs its text). */
  echo: boolean;
} {
  const request = parse(CompletionRequestSchema, value);
  const suffix = request.suffix == null || request.suffix === '' ? undefined : request.suffix;
  if (request.echo === true && suffix !== undefined) {
    throw new PodBadRequestError('echo cannot be combined with suffix', { param: 'echo' });
  }
  const logprobs = request.logprobs ?? undefined;
  return {
    prompt: request.prompt,
    suffix,
    sampling: { ...sampling(request), logprobs },
    promptLogprobs: request.echo === true ? logprobs : undefined,
    echo: request.echo === true,
  };
}

export function parseEmbeddingRequest(value: unknown): {
  /** Each input as text or as token ids. */
  inputs: Array<string | number[]>;
  dimensions: number | undefined;
} {
  const request = parse(EmbeddingRequestSchema, value);
  return { inputs: inputsOf(request.input), dimensions: request.dimensions };
}
