// The JSON shapes of the two text-generation endpoints, whole and streamed, from the protocol's builders.
import { newApiId } from '../../../protocol/ids.ts';
import type { PromptTokenLogprobOut, TokenLogprobOut } from '../../../protocol/openai-logprobs.ts';
import {
  chatCompletionChunk,
  chatCompletionOf,
  chatCompletionToolCallsChunk,
  chatCompletionUsageChunk,
  type EchoedPrompt,
  type FinishReason,
  openAIUsage,
  type TextFinishReason,
  type TokenUsage,
  type ToolCallDeltaOut,
  type ToolCallOut,
  textCompletion,
  textCompletionChunk,
} from '../../../protocol/openai-responses.ts';

export interface Envelope {
  id: string;
  model: string;
  created: number;
  includeUsage: boolean;
}

export interface StreamedLogprobs {
  entries: readonly TokenLogprobOut[];
  /** Characters of the text streamed before this piece. */
  offset: number;
}

export interface GenerationShape {
  newId(): string;
  /** The whole answer: its choices in order (`n` per prompt). */
  whole(
    e: Envelope,
    choices: ReadonlyArray<{
      text: string;
      finishReason: FinishReason;
      toolCalls?: ToolCallOut[];
      logprobs?: TokenLogprobOut[];
      echo?: EchoedPrompt;
    }>,
    usage: TokenUsage,
  ): unknown;
  // Streamed, each event names its choice by `index`: `n` per prompt, prompt by prompt.
  /** The event before a choice's text (chat announces the assistant role), if the endpoint has one. */
  opening(e: Envelope, index: number): unknown | undefined;
  /** A piece of text; with its tokens' log probabilities (and the text streamed before) when asked. */
  delta(e: Envelope, text: string, logprobs: StreamedLogprobs | undefined, index: number): unknown;
  /**
   * A completion's echo: the prompt before the choice's text, with its tokens' log probabilities when
   * asked (`logprobs` undefined: not asked).
   */
  echo(
    e: Envelope,
    text: string,
    logprobs: readonly PromptTokenLogprobOut[] | undefined,
    index: number,
  ): unknown;
  /** Pieces of the calls the model makes, streamed after its text (chat only). */
  toolCalls(e: Envelope, deltas: readonly ToolCallDeltaOut[], index: number): unknown;
  closing(e: Envelope, finishReason: FinishReason, index: number): unknown;
  usage(e: Envelope, usage: TokenUsage): unknown;
}

export const chatShape: GenerationShape = {
  newId: () => newApiId('chatCompletion'),
  whole: (e, choices, usage) =>
    chatCompletionOf({
      ...e,
      choices: choices.map((c) => ({
        content: c.text,
        finishReason: c.finishReason,
        toolCalls: c.toolCalls,
        logprobs: c.logprobs,
      })),
      usage,
    }),
  opening: (e, index) => chatCompletionChunk({ ...e, delta: { role: 'assistant', content: '' }, index }),
  delta: (e, content, logprobs, index) =>
    chatCompletionChunk({ ...e, delta: { content }, logprobs: logprobs?.entries, index }),
  echo: () => {
    throw new TypeError('chats echo nothing');
  },
  toolCalls: (e, deltas, index) => chatCompletionToolCallsChunk({ ...e, deltas, index }),
  closing: (e, finishReason, index) => chatCompletionChunk({ ...e, delta: {}, finishReason, index }),
  usage: (e, usage) => chatCompletionUsageChunk({ ...e, usage }),
};

export const completionShape: GenerationShape = {
  newId: () => newApiId('completion'),
  whole: (e, choices, usage) =>
    textCompletion({
      ...e,
      choices: choices.map((c) => ({
        text: c.text,
        finishReason: textFinish(c.finishReason),
        logprobs: c.logprobs,
        echo: c.echo,
      })),
      usage,
    }),
  opening: () => undefined,
  delta: (e, text, logprobs, index) => withUsageNull(e, textCompletionChunk({ ...e, text, logprobs, index })),
  echo: (e, text, entries, index) =>
    withUsageNull(
      e,
      textCompletionChunk({
        ...e,
        text,
        logprobs: entries === undefined ? undefined : { entries, offset: 0 },
        index,
      }),
    ),
  toolCalls: () => {
    throw new TypeError('completions make no tool calls');
  },
  closing: (e, finishReason, index) =>
    withUsageNull(e, textCompletionChunk({ ...e, text: '', finishReason: textFinish(finishReason), index })),
  // OpenAI ends an include_usage stream with a chunk of no choices carrying the totals.
  usage: (e, usage) => ({
    ...textCompletionChunk({ ...e, text: '' }),
    choices: [],
    usage: openAIUsage(usage),
  }),
};

/** A node's output for completions is checked to end with stop or length; this only narrows the type. */
function textFinish(reason: FinishReason): TextFinishReason {
  return reason === 'tool_calls' ? 'stop' : reason;
}

/** With include_usage every chunk carries `usage: null` until the last one, as OpenAI streams. */
function withUsageNull<T extends object>(e: Envelope, chunk: T): T {
  return e.includeUsage ? { ...chunk, usage: null } : chunk;
}
