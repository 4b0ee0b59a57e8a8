import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { CompletionChoice } from 'openai/resources/completions';
import { z } from 'zod';
import { MAX_TOP_LOGPROBS } from './openai.ts';

/**
 * Log probabilities as OpenAI answers them, from a node's entries (one per token of the text, its bytes
 * joining to the text's UTF-8, its likeliest alternatives): chat's `logprobs.content`, and the legacy
 * completions' parallel lists (`tokens`, `token_logprobs`, `top_logprobs` dicts, `text_offset`).
 */

/** What OpenAI writes for a probability too small for a number. */
export const UNWRITABLE_LOGPROB = -9999;

const TokenChoiceSchema = z.object({
  token: z.string(),
  /** Natural log, UNWRITABLE_LOGPROB for what is too small to write. */
  logprob: z.number().min(UNWRITABLE_LOGPROB).max(0),
  bytes: z.array(z.int().min(0).max(255)),
});

/** One token of a node's answer with its log probability and its likeliest alternatives. */
export const TokenLogprobSchema = TokenChoiceSchema.extend({
  top: z.array(TokenChoiceSchema).max(MAX_TOP_LOGPROBS),
});

export type TokenLogprobOut = z.output<typeof TokenLogprobSchema>;

export function chatLogprobs(entries: readonly TokenLogprobOut[]): ChatCompletion.Choice.Logprobs {
  return {
    content: entries.map(({ token, logprob, bytes, top }) => ({
      token,
      logprob,
      bytes,
      top_logprobs: top.map((alt) => ({ token: alt.token, logprob: alt.logprob, bytes: alt.bytes })),
    })),
    refusal: null,
  };
}

/**
 * The legacy shape. Each token's dict holds its alternatives and the token itself (as vLLM and OpenAI's
 * legacy models answer); `text_offset` counts the characters of the text before each token (a character
 * split over tokens counted once whole).
 */
export function completionLogprobs(
  entries: readonly TokenLogprobOut[],
  /** Characters before the first entry's: a stream's text so far. */
  from = 0,
): CompletionChoice.Logprobs {
  const decoder = new TextDecoder();
  let offset = from;
  const text_offset: number[] = [];
  for (const entry of entries) {
    text_offset.push(offset);
    offset += decoder.decode(Uint8Array.from(entry.bytes), { stream: true }).length;
  }
  return {
    tokens: entries.map((entry) => entry.token),
    token_logprobs: entries.map((entry) => entry.logprob),
    top_logprobs: entries.map((entry) => {
      const dict: Record<string, number> = {};
      for (const alt of [...entry.top, entry])
        dict[alt.token] = Math.max(dict[alt.token] ?? -Infinity, alt.logprob);
      return dict;
    }),
    text_offset,
  };
}
