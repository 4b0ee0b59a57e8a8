// The JSON shapes of the two text-generation endpoints, whole and streamed, from the protocol's builders.
import { newApiId } from '../../../protocol/ids.ts';
import {
  chatCompletion,
  chatCompletionChunk,
  chatCompletionUsageChunk,
  type FinishReason,
  openAIUsage,
  type TokenUsage,
  textCompletion,
  textCompletionChunk,
} from '../../../protocol/openai-responses.ts';

export interface Envelope {
  id: string;
  model: string;
  created: number;
  includeUsage: boolean;
}

export interface GenerationShape {
  newId(): string;
  /** The whole answer: one choice per prompt (chat has one). */
  whole(
    e: Envelope,
    choices: ReadonlyArray<{ text: string; finishReason: FinishReason }>,
    usage: TokenUsage,
  ): unknown;
  /** The event before any text (chat announces the assistant role), if the endpoint has one. */
  opening(e: Envelope): unknown | undefined;
  delta(e: Envelope, text: string): unknown;
  closing(e: Envelope, finishReason: FinishReason): unknown;
  usage(e: Envelope, usage: TokenUsage): unknown;
}

export const chatShape: GenerationShape = {
  newId: () => newApiId('chatCompletion'),
  whole: (e, [choice], usage) =>
    chatCompletion({
      ...e,
      content: choice?.text ?? '',
      finishReason: choice?.finishReason ?? 'stop',
      usage,
    }),
  opening: (e) => chatCompletionChunk({ ...e, delta: { role: 'assistant', content: '' } }),
  delta: (e, content) => chatCompletionChunk({ ...e, delta: { content } }),
  closing: (e, finishReason) => chatCompletionChunk({ ...e, delta: {}, finishReason }),
  usage: (e, usage) => chatCompletionUsageChunk({ ...e, usage }),
};

export const completionShape: GenerationShape = {
  newId: () => newApiId('completion'),
  whole: (e, choices, usage) => textCompletion({ ...e, choices: [...choices], usage }),
  opening: () => undefined,
  delta: (e, text) => withUsageNull(e, textCompletionChunk({ ...e, text })),
  closing: (e, finishReason) => withUsageNull(e, textCompletionChunk({ ...e, text: '', finishReason })),
  // OpenAI ends an include_usage stream with a chunk of no choices carrying the totals.
  usage: (e, usage) => ({
    ...textCompletionChunk({ ...e, text: '' }),
    choices: [],
    usage: openAIUsage(usage),
  }),
};

/** With include_usage every chunk carries `usage: null` until the last one, as OpenAI streams. */
function withUsageNull<T extends object>(e: Envelope, chunk: T): T {
  return e.includeUsage ? { ...chunk, usage: null } : chunk;
}
