// The parts of OpenAI's wire format the upstream runtime reads. Loose on purpose: servers (vLLM, SGLang,
// Ollama, llama.cpp) add their own fields, and some send null where OpenAI omits.
import { z } from 'zod';
import type { FinishReason, NormalizedMessage, ResponseFormat, SamplingParams, TokenUsage } from './types.ts';

// A usage block that is missing or malformed counts as not reported.
const UsageWire = z
  .object({ prompt_tokens: z.int().min(0), completion_tokens: z.int().min(0) })
  .nullish()
  .catch(null);
const EmbeddingUsageWire = z
  .object({ prompt_tokens: z.int().min(0) })
  .nullish()
  .catch(null);

const FinishWire = z.string().nullish();

export const ChatResponseWire = z.object({
  model: z.string().optional(),
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullish() }), finish_reason: FinishWire }))
    .min(1),
  usage: UsageWire,
});

export const CompletionResponseWire = z.object({
  model: z.string().optional(),
  choices: z.array(z.object({ text: z.string(), finish_reason: FinishWire })).min(1),
  usage: UsageWire,
});

/** One streamed chunk of either endpoint: chat puts text in `delta.content`, completions in `text`. */
export const StreamChunkWire = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        delta: z.object({ content: z.string().nullish() }).nullish(),
        text: z.string().nullish(),
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

export function finishReasonOf(wire: string | null | undefined): FinishReason {
  return wire === 'length' ? 'length' : 'stop';
}

/** Usage as reported; null when the upstream left it out (nothing is guessed). */
export function usageOf(wire: z.output<typeof UsageWire>): TokenUsage | null {
  if (wire === null || wire === undefined) return null;
  return { promptTokens: wire.prompt_tokens, completionTokens: wire.completion_tokens };
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
    ...(format === undefined ? {} : { response_format: responseFormatBody(format) }),
  };
}

/** OpenAI's shape; the schema's name is not ours to know (the gateway keeps only the schema), nor needed. */
function responseFormatBody(format: ResponseFormat): Record<string, unknown> {
  if (format.type === 'json_object') return { type: 'json_object' };
  return { type: 'json_schema', json_schema: { name: 'response', schema: format.schema, strict: true } };
}

export function messagesBody(
  messages: readonly NormalizedMessage[],
): Array<{ role: string; content: string }> {
  return messages.map((m) => ({ role: m.role, content: m.content }));
}
