import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Completion, CompletionUsage } from 'openai/resources/completions';
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import type { Model } from 'openai/resources/models';
import { FatalError } from './errors.ts';
import {
  type CompletionLogprobsOut,
  chatLogprobs,
  completionLogprobs,
  echoedCompletionLogprobs,
  type PromptTokenLogprobOut,
  type TokenLogprobOut,
} from './openai-logprobs.ts';

/**
 * Builders of the gateway's answers in exactly OpenAI's JSON shapes (typed by the official SDK's own
 * types), so OpenAI clients parse them unchanged. Ids come from ids.ts (`newApiId('chatCompletion')`).
 */

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls';
/** Completions offer no tools. */
export type TextFinishReason = Exclude<FinishReason, 'tool_calls'>;

/** A call the model made, as the gateway has it: `arguments` is JSON text. */
export interface ToolCallOut {
  id: string;
  name: string;
  arguments: string;
}

function openAIToolCall(call: ToolCallOut) {
  return { id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } };
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Of `inputTokens`, those a node's prompt cache held. */
  cachedInputTokens?: number;
}

interface Envelope {
  id: string;
  model: string;
  /** Unix seconds; defaults to now. */
  created?: number;
}

export function unixSeconds(ms = Date.now()): number {
  return Math.floor(ms / 1000);
}

export function openAIUsage(usage: TokenUsage): CompletionUsage {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    ...(usage.cachedInputTokens === undefined
      ? {}
      : { prompt_tokens_details: { cached_tokens: usage.cachedInputTokens } }),
  };
}

/** One choice of a chat answer. */
export interface ChatChoiceOut {
  content: string;
  finishReason: FinishReason;
  toolCalls?: readonly ToolCallOut[] | undefined;
  /** When asked: one entry per token of `content`. */
  logprobs?: readonly TokenLogprobOut[] | undefined;
}

/** A chat answer of one choice. */
export function chatCompletion(p: Envelope & ChatChoiceOut & { usage: TokenUsage }): ChatCompletion {
  return chatCompletionOf({ ...p, choices: [p] });
}

/**
 * A chat answer, its choices numbered in order. With tool calls, an assistant that said nothing before
 * them has `content: null`, as OpenAI sends.
 */
export function chatCompletionOf(
  p: Envelope & { choices: readonly ChatChoiceOut[]; usage: TokenUsage },
): ChatCompletion {
  return {
    id: p.id,
    object: 'chat.completion',
    created: p.created ?? unixSeconds(),
    model: p.model,
    choices: p.choices.map((choice, index) => {
      const calls = choice.toolCalls ?? [];
      return {
        index,
        message: {
          role: 'assistant',
          content: calls.length > 0 && choice.content === '' ? null : choice.content,
          refusal: null,
          ...(calls.length === 0 ? {} : { tool_calls: calls.map(openAIToolCall) }),
        },
        logprobs: choice.logprobs === undefined ? null : chatLogprobs(choice.logprobs),
        finish_reason: choice.finishReason,
      };
    }),
    usage: openAIUsage(p.usage),
  };
}

/**
 * One streamed chunk. The first carries `delta.role`, the last a `finishReason`; when the caller asked for
 * `stream_options.include_usage`, every chunk has `usage: null` and `chatCompletionUsageChunk` ends the stream.
 */
export function chatCompletionChunk(
  p: Envelope & {
    delta: { role?: 'assistant'; content?: string; tool_calls?: ChatCompletionChunk.Choice.Delta.ToolCall[] };
    finishReason?: FinishReason | null;
    includeUsage?: boolean;
    /** Those of the delta's tokens, when asked. */
    logprobs?: readonly TokenLogprobOut[] | undefined;
    /** The choice the chunk belongs to (0 unless `n` asked for more). */
    index?: number;
  },
): ChatCompletionChunk {
  const logprobs = p.logprobs === undefined ? null : chatLogprobs(p.logprobs);
  return {
    id: p.id,
    object: 'chat.completion.chunk',
    created: p.created ?? unixSeconds(),
    model: p.model,
    choices: [{ index: p.index ?? 0, delta: p.delta, logprobs, finish_reason: p.finishReason ?? null }],
    ...(p.includeUsage === true ? { usage: null } : {}),
  };
}

/**
 * A piece of a call as a stream carries it: the first piece of a call names it (`id`, `name`), every piece
 * adds to its arguments; `index` is the call's place among the choice's calls.
 */
export interface ToolCallDeltaOut {
  index: number;
  id?: string | undefined;
  name?: string | undefined;
  arguments: string;
}

/** A streamed chunk with pieces of the calls the model is making, as OpenAI streams them. */
export function chatCompletionToolCallsChunk(
  p: Envelope & { deltas: readonly ToolCallDeltaOut[]; includeUsage?: boolean; index?: number },
): ChatCompletionChunk {
  const tool_calls = p.deltas.map(({ index, id, name, arguments: args }) => ({
    index,
    ...(id === undefined ? {} : { id, type: 'function' as const }),
    function: { ...(name === undefined ? {} : { name }), arguments: args },
  }));
  return chatCompletionChunk({ ...p, delta: { tool_calls } });
}

/** Whole calls as the pieces of one chunk, each its place among them. */
export function wholeCallDeltas(calls: readonly ToolCallOut[]): ToolCallDeltaOut[] {
  return calls.map((call, index) => ({ index, ...call }));
}

/** The final chunk with `include_usage`: no choices, the usage of the whole stream. */
export function chatCompletionUsageChunk(p: Envelope & { usage: TokenUsage }): ChatCompletionChunk {
  return {
    id: p.id,
    object: 'chat.completion.chunk',
    created: p.created ?? unixSeconds(),
    model: p.model,
    choices: [],
    usage: openAIUsage(p.usage),
  };
}

/** A legacy completion's choice as we write it: its logprobs' lists may hold null (an echoed prompt's). */
export type TextCompletionChoice = Omit<Completion['choices'][number], 'logprobs' | 'finish_reason'> & {
  logprobs: CompletionLogprobsOut | null;
};

export type TextCompletionOut = Omit<Completion, 'choices'> & {
  choices: Array<TextCompletionChoice & { finish_reason: TextFinishReason }>;
};

/** With `echo`: the prompt written before a choice's text, and its tokens' log probabilities when asked. */
export interface EchoedPrompt {
  readonly text: string;
  readonly logprobs?: readonly PromptTokenLogprobOut[] | undefined;
}

/** `/v1/completions` answer; `n` choices per prompt, prompt by prompt. */
export function textCompletion(
  p: Envelope & {
    choices: Array<{
      text: string;
      finishReason: TextFinishReason;
      logprobs?: readonly TokenLogprobOut[] | undefined;
      echo?: EchoedPrompt | undefined;
    }>;
    usage: TokenUsage;
  },
): TextCompletionOut {
  return {
    id: p.id,
    object: 'text_completion',
    created: p.created ?? unixSeconds(),
    model: p.model,
    choices: p.choices.map((c, index) => ({
      text: c.echo === undefined ? c.text : c.echo.text + c.text,
      index,
      logprobs: legacyLogprobs(c.logprobs, c.echo),
      finish_reason: c.finishReason,
    })),
    usage: openAIUsage(p.usage),
  };
}

function legacyLogprobs(
  entries: readonly TokenLogprobOut[] | undefined,
  echo: EchoedPrompt | undefined,
): CompletionLogprobsOut | null {
  if (entries === undefined) return null;
  if (echo?.logprobs === undefined) return completionLogprobs(entries);
  return echoedCompletionLogprobs({ text: echo.text, entries: echo.logprobs }, entries);
}

/**
 * A streamed `/v1/completions` chunk (same object as the whole answer, one piece of text). The SDK types
 * `finish_reason` as never null, but OpenAI streams null until the last chunk, so it is widened here.
 */
export function textCompletionChunk(
  p: Envelope & {
    text: string;
    index?: number;
    finishReason?: TextFinishReason | null;
    /** Those of the text's tokens, when asked, and the characters streamed before them. */
    logprobs?: { entries: readonly PromptTokenLogprobOut[]; offset: number } | undefined;
  },
): Omit<Completion, 'choices'> & {
  choices: Array<TextCompletionChoice & { finish_reason: TextFinishReason | null }>;
} {
  return {
    id: p.id,
    object: 'text_completion',
    created: p.created ?? unixSeconds(),
    model: p.model,
    choices: [
      {
        text: p.text,
        index: p.index ?? 0,
        logprobs: p.logprobs === undefined ? null : completionLogprobs(p.logprobs.entries, p.logprobs.offset),
        finish_reason: p.finishReason ?? null,
      },
    ],
  };
}

/** `/v1/embeddings` answer; with `base64` each vector is little-endian float32 bytes in base64, as OpenAI sends. */
export type EmbeddingList = Omit<CreateEmbeddingResponse, 'data'> & {
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>;
};

export function embeddingList(p: {
  model: string;
  embeddings: readonly (readonly number[])[];
  inputTokens: number;
  encodingFormat?: 'float' | 'base64';
}): EmbeddingList {
  const base64 = p.encodingFormat === 'base64';
  return {
    object: 'list',
    data: p.embeddings.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: base64 ? embeddingToBase64(vector) : [...vector],
    })),
    model: p.model,
    usage: { prompt_tokens: p.inputTokens, total_tokens: p.inputTokens },
  };
}

export function embeddingToBase64(vector: readonly number[]): string {
  const floats = Float32Array.from(vector);
  // Float32Array uses the platform's byte order; every platform Node runs on here is little-endian.
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

export function embeddingFromBase64(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.byteLength % 4 !== 0) {
    throw new FatalError('invalid_request', { message: 'base64 embedding is not a whole number of float32' });
  }
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return Array.from(floats);
}

/** `/v1/models` answer. */
export function modelList(models: ReadonlyArray<{ id: string; created: number; ownedBy: string }>): {
  object: 'list';
  data: Model[];
} {
  return {
    object: 'list',
    data: models.map((m) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy })),
  };
}

/** One server-sent event carrying a JSON payload, as OpenAI streams do. */
export function sseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** The last event of every OpenAI stream. */
export const SSE_DONE = 'data: [DONE]\n\n';
