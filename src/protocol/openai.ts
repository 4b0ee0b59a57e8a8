import { z } from 'zod';
import {
  ResponseFormatSchema,
  refuseUnsupportedChatFields,
  refuseUnsupportedCompletionFields,
} from './openai-features.ts';
import { type LogitBias, LogitBiasSchema } from './openai-logit-bias.ts';
import {
  checkToolFields,
  podToolCall,
  ToolCallIdSchema,
  ToolCallsSchema,
  ToolChoiceSchema,
  ToolsSchema,
} from './openai-tools.ts';
import { parseWith, type Result } from './schema-errors.ts';

/**
 * Request bodies of the gateway's OpenAI-compatible endpoints. Loose objects: OpenAI clients send fields
 * that change nothing in the answer (user, store, metadata...), and those are ignored; the fields we read
 * are checked, fields asking for what the pods cannot give are refused (openai-features.ts), and a wrong
 * type is refused with its path (`messages[1].content`). `null` is accepted wherever OpenAI accepts it.
 */

/** Longest single text (message content, prompt, embedding input) in characters. */
export const MAX_TEXT_CHARS = 1_000_000;
export const MAX_MESSAGES = 4096;
export const MAX_BATCH_INPUTS = 2048;

const Text = z.string().max(MAX_TEXT_CHARS);

/** Token ids per prompt or input given as ids: more than any model's context holds. */
export const MAX_TOKEN_IDS = 1 << 20;
/**
 * A prompt or an embedding input as token ids of the pod model's vocabulary (as evaluation harnesses send
 * them, tokenized with the model's own tokenizer); the node checks them against its vocabulary.
 */
const TokenIds = z.array(z.int().min(0).max(0x7fffffff)).min(1).max(MAX_TOKEN_IDS);
/** Text or token ids, one or a batch of them. */
const TextOrTokens = (field: string) =>
  z.union(
    [
      Text,
      z.array(Text).min(1).max(MAX_BATCH_INPUTS),
      TokenIds,
      z.array(TokenIds).min(1).max(MAX_BATCH_INPUTS),
    ],
    {
      error: `${field} must be a string, a list of strings, a list of token ids or a list of such lists`,
    },
  );

const TextPartSchema = z.looseObject({
  type: z.literal('text', { error: 'only text content parts are supported' }),
  text: Text,
});

const ContentSchema = z.union([Text, z.array(TextPartSchema).max(256)], {
  error: 'content must be a string or an array of text parts',
});

const SystemMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer']),
  content: ContentSchema,
  name: z.string().max(256).optional(),
});
const UserMessageSchema = z.looseObject({
  role: z.literal('user'),
  content: ContentSchema,
  name: z.string().max(256).optional(),
});
const AssistantMessageSchema = z.looseObject({
  role: z.literal('assistant'),
  content: ContentSchema.nullish(),
  name: z.string().max(256).optional(),
  /** The calls this turn made; their results follow as `tool` messages. */
  tool_calls: ToolCallsSchema.nullish(),
});
const ToolMessageSchema = z.looseObject({
  role: z.literal('tool'),
  content: ContentSchema,
  tool_call_id: ToolCallIdSchema,
});

export const ChatMessageSchema = z.discriminatedUnion(
  'role',
  [SystemMessageSchema, UserMessageSchema, AssistantMessageSchema, ToolMessageSchema],
  { error: 'role must be one of system, developer, user, assistant, tool' },
);

/** OpenAI's limits on the likeliest alternatives shown per token: chat, and the legacy completions. */
export const MAX_TOP_LOGPROBS = 20;
export const MAX_COMPLETION_LOGPROBS = 5;

/** Choices a request may ask for: a node generates them one after another, so each adds its time. */
export const MAX_CHOICES = 16;

const Choices = z.int().min(1).max(MAX_CHOICES).nullish();

const Model = z.string().min(1).max(256);
const MaxTokens = z.int().min(1).max(10_000_000).nullish();
const Stop = z
  .union([z.string().max(256), z.array(z.string().max(256)).max(4)], {
    error: 'stop must be a string or a list of at most 4 strings, each at most 256 characters',
  })
  .nullish();
const Penalty = z.number().min(-2).max(2).nullish();

/** Sampling fields shared by chat completions and completions. */
const SamplingFields = {
  model: Model,
  max_tokens: MaxTokens,
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  n: Choices,
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  stop: Stop,
  seed: z.int().nullish(),
  presence_penalty: Penalty,
  frequency_penalty: Penalty,
  logit_bias: LogitBiasSchema.nullish(),
  user: z.string().max(256).optional(),
};

export const ChatCompletionRequestSchema = z
  .looseObject({
    ...SamplingFields,
    messages: z.array(ChatMessageSchema).min(1).max(MAX_MESSAGES),
    /** Newer name of max_tokens; wins when both are present. */
    max_completion_tokens: MaxTokens,
    response_format: ResponseFormatSchema,
    tools: ToolsSchema,
    tool_choice: ToolChoiceSchema,
    /** Default true: a pod may make several calls in one turn; `false` holds it to one. */
    parallel_tool_calls: z.boolean().nullish(),
    /** Each token's log probability in the answer, with `top_logprobs` likeliest alternatives. */
    logprobs: z.boolean().nullish(),
    top_logprobs: z.int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
    /**
     * Not OpenAI's for chat (its Responses API has it): 'auto' lets a llama-cpp pod leave out the oldest
     * messages of a conversation that outgrows its model's context; default 'disabled' refuses one.
     */
    truncation: z.enum(['auto', 'disabled']).nullish(),
  })
  .superRefine(refuseUnsupportedChatFields)
  .superRefine(checkToolFields)
  .superRefine(checkStreamOptions)
  .superRefine((body, ctx) => {
    if ((body.top_logprobs ?? 0) > 0 && body.logprobs !== true) {
      ctx.addIssue({
        code: 'custom',
        message: 'top_logprobs needs logprobs: true',
        path: ['top_logprobs'],
      });
    }
  });

export const CompletionRequestSchema = z
  .looseObject({
    ...SamplingFields,
    prompt: TextOrTokens('prompt'),
    /** The legacy API's: each token's log probability with this many likeliest alternatives. */
    logprobs: z.int().min(0).max(MAX_COMPLETION_LOGPROBS).nullish(),
    /** Fill in the middle: the text after the gap the answer fills (a code model's); '' or null: none. */
    suffix: Text.nullish(),
    /** Choices written per prompt, of which the `n` likeliest are answered (all are paid). */
    best_of: Choices,
    /** 0 with `echo`: the prompt alone, its tokens scored (how evaluation harnesses read a likelihood). */
    max_tokens: z.int().min(0).max(10_000_000).nullish(),
    /** Each choice's text begins with its prompt; with `logprobs`, the prompt's tokens are scored too. */
    echo: z.boolean().nullish(),
  })
  .superRefine(refuseUnsupportedCompletionFields)
  .superRefine(checkEcho)
  .superRefine(checkStreamOptions)
  .superRefine((body, ctx) => {
    const bestOf = body.best_of;
    // 1 is the neutral value (no choice to pick): taken with any n, as before best_of was served.
    if (bestOf == null || bestOf === 1) return;
    if (bestOf < choicesOf(body)) {
      ctx.addIssue({
        code: 'custom',
        message: 'best_of must be at least n',
        path: ['best_of'],
        input: bestOf,
      });
    }
    // As OpenAI's: the best are known only once all are written.
    if (bestOf > 1 && body.stream === true) {
      ctx.addIssue({
        code: 'custom',
        message: 'best_of cannot be streamed',
        path: ['best_of'],
        input: bestOf,
      });
    }
  });

/**
 * Options of a stream only with a stream, as OpenAI and vLLM answer: a client that sends them without
 * `stream: true` most likely meant to stream, and hears so rather than an answer without its usage chunk.
 */
function checkStreamOptions(
  body: { stream?: boolean | null | undefined; stream_options?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (body.stream_options == null || body.stream === true) return;
  ctx.addIssue({
    code: 'custom',
    message: 'allowed only with stream: true',
    path: ['stream_options'],
  });
}

/** `echo` and what only goes with it: a budget of no tokens. */
function checkEcho(
  body: {
    echo?: boolean | null | undefined;
    max_tokens?: number | null | undefined;
    suffix?: string | null | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (body.max_tokens === 0 && body.echo !== true) {
    ctx.addIssue({
      code: 'custom',
      message: 'max_tokens must be at least 1 (0, the prompt alone, only with echo: true)',
      path: ['max_tokens'],
      input: 0,
    });
  }
  // The answer fills a gap before the suffix: prompt and answer alone would not be the text.
  if (body.echo === true && body.suffix != null && body.suffix !== '') {
    ctx.addIssue({
      code: 'custom',
      message: 'echo cannot be combined with suffix',
      path: ['echo'],
      input: true,
    });
  }
}

export const EmbeddingRequestSchema = z.looseObject({
  model: Model,
  input: TextOrTokens('input'),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.int().min(1).max(65_536).optional(),
  user: z.string().max(256).optional(),
});

export type ChatMessage = z.output<typeof ChatMessageSchema>;
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>;
export type CompletionRequest = z.output<typeof CompletionRequestSchema>;
export type EmbeddingRequest = z.output<typeof EmbeddingRequestSchema>;
export type MessageContent = z.output<typeof ContentSchema>;

export function parseChatCompletionRequest(body: unknown): Result<ChatCompletionRequest> {
  return parseWith(ChatCompletionRequestSchema, body);
}

export function parseCompletionRequest(body: unknown): Result<CompletionRequest> {
  return parseWith(CompletionRequestSchema, body);
}

export function parseEmbeddingRequest(body: unknown): Result<EmbeddingRequest> {
  return parseWith(EmbeddingRequestSchema, body);
}

/** The text of a message: parts joined without separator (how OpenAI concatenates them). */
export function contentText(content: MessageContent | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

/** Messages as a node receives them: text content, with the tool calls and answers they carry. */
export function podMessages(messages: readonly ChatMessage[]) {
  return messages.map((m) => {
    const content = contentText(m.content);
    if (m.role === 'tool') return { role: m.role, content, tool_call_id: m.tool_call_id };
    if (m.role === 'assistant' && m.tool_calls != null && m.tool_calls.length > 0) {
      return { role: m.role, content, tool_calls: m.tool_calls.map(podToolCall) };
    }
    return { role: m.role, content };
  });
}

/** The log probabilities a chat asks for, as a node receives them; none when not asked. */
export function chatLogprobsFields(
  request: ChatCompletionRequest,
): { logprobs: true; top_logprobs: number } | Record<string, never> {
  return request.logprobs === true ? { logprobs: true, top_logprobs: request.top_logprobs ?? 0 } : {};
}

/** The log probabilities a completion asks for (the legacy field), as a node receives them. */
export function completionLogprobsFields(
  request: CompletionRequest,
): { logprobs: number } | Record<string, never> {
  return request.logprobs == null ? {} : { logprobs: request.logprobs };
}

/** A completion's `suffix` as a node takes it: fill in the middle, absent when empty. */
export function completionSuffixField(
  request: CompletionRequest,
): { suffix: string } | Record<string, never> {
  return request.suffix == null || request.suffix === '' ? {} : { suffix: request.suffix };
}

/** A completion's `echo` as a node takes it: it scores the prompt's tokens when logprobs are asked too. */
export function completionEchoField(request: CompletionRequest): { echo: true } | Record<string, never> {
  return request.echo === true ? { echo: true } : {};
}

/** Whether a request asks for log probabilities. */
export function asksLogprobs(request: ChatCompletionRequest | CompletionRequest): boolean {
  return 'messages' in request ? request.logprobs === true : request.logprobs != null;
}

/** How many choices a node writes for each prompt of a completion: `best_of`, else `n`. */
export function candidatesOf(request: CompletionRequest): number {
  return Math.max(choicesOf(request), request.best_of ?? 1);
}

/** How many choices each prompt gets (`n`, 1 when absent). */
export function choicesOf(request: { n?: number | null | undefined }): number {
  return request.n ?? 1;
}

/**
 * Seeds of a prompt's `n` choices: the caller's seed for the first, the next ones after it, so the
 * choices differ from each other and a seeded request still repeats; none without a seed.
 */
export function choiceSeed(seed: number | null | undefined, choice: number): number | undefined {
  if (seed == null) return undefined;
  return Number.isSafeInteger(seed + choice) ? seed + choice : seed - choice;
}

/** The completion budget the caller asked for, if any (max_completion_tokens wins). */
export function maxTokensOf(request: { max_tokens?: number | null; max_completion_tokens?: number | null }) {
  return request.max_completion_tokens ?? request.max_tokens ?? undefined;
}

/** Stop sequences as a list (OpenAI takes a string or up to four). */
export function stopSequences(stop: string | string[] | null | undefined): string[] {
  if (stop == null) return [];
  return (typeof stop === 'string' ? [stop] : stop).filter((s) => s !== '');
}

/**
 * The sampling fields of a chat or completion request, normalised (max_completion_tokens folded into
 * max_tokens, a stop string as a list, null as absent): what a node passes to its pod runtime.
 */
export function samplingFields(request: {
  model?: string | undefined;
  max_tokens?: number | null | undefined;
  max_completion_tokens?: number | null | undefined;
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  seed?: number | null | undefined;
  stop?: string | string[] | null | undefined;
  presence_penalty?: number | null | undefined;
  frequency_penalty?: number | null | undefined;
  logit_bias?: LogitBias | null | undefined;
}) {
  const maxTokens = maxTokensOf({
    max_tokens: request.max_tokens ?? null,
    max_completion_tokens: request.max_completion_tokens ?? null,
  });
  const stop = stopSequences(request.stop);
  return {
    ...(request.model === undefined ? {} : { model: request.model }),
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
    ...(request.temperature == null ? {} : { temperature: request.temperature }),
    ...(request.top_p == null ? {} : { top_p: request.top_p }),
    ...(request.seed == null ? {} : { seed: request.seed }),
    ...(stop.length === 0 ? {} : { stop }),
    ...(request.presence_penalty == null ? {} : { presence_penalty: request.presence_penalty }),
    ...(request.frequency_penalty == null ? {} : { frequency_penalty: request.frequency_penalty }),
    ...(request.logit_bias == null || Object.keys(request.logit_bias).length === 0
      ? {}
      : { logit_bias: request.logit_bias }),
  };
}

/** A prompt or an input as text or as token ids. */
export type TextOrTokenIds = string | number[];

/** Inputs as a list: one string or one list of token ids is one input. */
export function inputsOf(input: string | string[] | number[] | number[][]): TextOrTokenIds[] {
  if (typeof input === 'string') return [input];
  if (input.length > 0 && typeof input[0] === 'number') return [input as number[]];
  return input as TextOrTokenIds[];
}
