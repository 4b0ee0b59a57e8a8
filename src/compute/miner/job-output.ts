// The `output` of a `job.result`, per job kind: what the miner sends, what the receipt's resultHash
// commits to (keccak256 of its canonical JSON), and what the gateway turns into OpenAI's answers with
// src/protocol/openai-responses.ts. Token counts travel in `job.result.usage`, not here.
//
//   kind         output                                                  gateway answer
//   chat         { text, finishReason, tokenIds?, toolCalls? }           chatCompletion({ content: text, finishReason, toolCalls, usage })
//                or { choices: [that, ...] } for n > 1                   one choice each, in order
//   completion   { choices: [{ text, finishReason, tokenIds? }, ...] }   textCompletion({ choices, usage }); one choice per prompt, in order
//   embeddings   { embeddings: number[][] }                              embeddingList({ embeddings, inputTokens: usage.inputTokens, encodingFormat })
//
// - `text` is the whole generated text, also when it was streamed: the `job.chunk` deltas concatenate to it.
// - `finishReason` is 'stop' (end of turn or a stop sequence) or 'length' (max_tokens or the context ran out);
//   'cancelled' only in the result a node sends for a paid cancel (`job.cancel` with `partial`): the text it
//   had produced when the caller went away, which the receipt commits to (a cancelled background response
//   shows it, cut short).
// - `toolCalls` (chat, with finishReason 'tool_calls', or 'length' when the call was cut short): the calls the
//   model made, each { id, name, arguments } with arguments as JSON text; `text` is what it said before them.
// - `tokenIds` are the sampled token ids, in order (llama-cpp pods): validators re-score them with the model.
// - `logprobs` (when the request asked): one entry per token of `text`, { token, logprob, bytes, top }, the
//   bytes joining to the text's UTF-8 and `top` the asked number of likeliest alternatives.
// - `promptLogprobs` (completion with `echo` and `logprobs`, on each prompt's first choice): one entry per
//   token of the prompt (after the BOS the pod added; one per id of a prompt of token ids), its log
//   probability given the tokens before it (null for a first token nothing comes before) with `top`
//   alternatives (null then too).
// - `promptText` (completion with `echo` whose prompt came as token ids, on each prompt's first choice): the
//   text the ids spell (a BOS sent too), which the answer begins with.
// - `truncatedMessages` (chat with `truncation: 'auto'`): how many of the oldest messages the pod left out
//   to fit its context (after the leading system ones, tool results with their calls): what the model saw.
// - `cachedPromptTokens` (chat and completion, beside `choices` when there are several): of the job's
//   prompt tokens (`usage.inputTokens`), those whose context the pod kept from an earlier job (prompt
//   caching), counted as the prompt tokens are, once per prompt; absent when none.
// - Embeddings are float vectors of unit length, one per input, in input order; base64 is the gateway's job.
// - With `n`, each prompt has n choices in a row (a completion's choices: prompt by prompt); a chat's come
//   as `choices` when n > 1. Streamed, a `job.chunk` names its choice by that place (`choice`, absent for
//   the first).
import { z } from 'zod';
import { MAX_CHOICES } from '../../protocol/openai.ts';
import { PromptTokenLogprobSchema, TokenLogprobSchema } from '../../protocol/openai-logprobs.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import { parseWith, type Result } from '../../protocol/schema-errors.ts';

const FinishReasonSchema = z.enum(['stop', 'length']);
const TokenIdsSchema = z.array(z.int().min(0)).optional();

const ToolCallOutputSchema = z.object({
  id: z.string().min(1).max(256),
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  arguments: z.string(),
});

const LogprobsSchema = z.array(TokenLogprobSchema).optional();
const CachedPromptTokensSchema = z.int().min(1).optional();

export const ChatJobOutputSchema = z
  .object({
    text: z.string(),
    finishReason: z.enum(['stop', 'length', 'tool_calls']),
    tokenIds: TokenIdsSchema,
    toolCalls: z.array(ToolCallOutputSchema).min(1).max(128).optional(),
    logprobs: LogprobsSchema,
    truncatedMessages: z.int().min(1).optional(),
    cachedPromptTokens: CachedPromptTokensSchema,
  })
  .refine(
    (output) =>
      (output.finishReason === 'tool_calls') === (output.toolCalls !== undefined) ||
      output.finishReason === 'length',
    {
      message: "toolCalls go with finishReason 'tool_calls' (or 'length', cut short), and only with them",
      path: ['toolCalls'],
    },
  );

/** A chat asked for `n` choices (more than one): each as a single chat output is. */
export const ChatChoicesOutputSchema = z.object({
  choices: z.array(ChatJobOutputSchema).min(2).max(MAX_CHOICES),
  cachedPromptTokens: CachedPromptTokensSchema,
});

export const CompletionJobOutputSchema = z.object({
  choices: z
    .array(
      z.object({
        text: z.string(),
        finishReason: FinishReasonSchema,
        tokenIds: TokenIdsSchema,
        logprobs: LogprobsSchema,
        promptLogprobs: z.array(PromptTokenLogprobSchema).optional(),
        promptText: z.string().optional(),
      }),
    )
    .min(1),
  cachedPromptTokens: CachedPromptTokensSchema,
});

export const EmbeddingsJobOutputSchema = z.object({
  embeddings: z.array(z.array(z.number())).min(1),
});

export type ChatJobOutput = z.output<typeof ChatJobOutputSchema>;
export type ChatChoicesOutput = z.output<typeof ChatChoicesOutputSchema>;
export type CompletionJobOutput = z.output<typeof CompletionJobOutputSchema>;
/** What a paid cancel stopped: never an answer (the caller is gone), so never parsed as one. */
export type CancelledChoice = Omit<ChatJobOutput, 'finishReason'> & { finishReason: 'cancelled' };
/** A paid cancel of several choices: those done, and the one it stopped. */
export type CancelledChoicesOutput = {
  choices: Array<ChatJobOutput | CompletionJobOutput['choices'][number] | CancelledChoice>;
};
export type EmbeddingsJobOutput = z.output<typeof EmbeddingsJobOutputSchema>;

export type JobOutputOf<K extends JobKind> = K extends 'chat'
  ? ChatJobOutput | ChatChoicesOutput
  : K extends 'completion'
    ? CompletionJobOutput
    : K extends 'embeddings'
      ? EmbeddingsJobOutput
      : unknown;

function hasChoices(output: unknown): boolean {
  return typeof output === 'object' && output !== null && 'choices' in output;
}

/**
 * Gateway side: a node's output checked against its kind's shape before it is turned into an answer
 * (`bad_result` when a node sent something else). Generic jobs pass through unchecked.
 */
export function parseJobOutput<K extends JobKind>(kind: K, output: unknown): Result<JobOutputOf<K>> {
  const schema =
    kind === 'chat'
      ? hasChoices(output)
        ? ChatChoicesOutputSchema
        : ChatJobOutputSchema
      : kind === 'completion'
        ? CompletionJobOutputSchema
        : kind === 'embeddings'
          ? EmbeddingsJobOutputSchema
          : undefined;
  if (schema === undefined) return { ok: true, value: output as JobOutputOf<K> };
  return parseWith(schema, output, 'bad_result') as Result<JobOutputOf<K>>;
}
