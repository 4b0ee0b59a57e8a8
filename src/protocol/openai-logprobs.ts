import type { ChatCompletion } from 'openai/resources/chat/completions';
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

/**
 * A token of a prompt (a completion's `echo`) with its log probability given the tokens before it; the
 * first token of a model that starts with no BOS token has none to be given, so null (as OpenAI writes it).
 */
export const PromptTokenLogprobSchema = z.union([
  TokenLogprobSchema,
  TokenChoiceSchema.extend({ logprob: z.null(), top: z.null() }),
]);

export type PromptTokenLogprobOut = z.output<typeof PromptTokenLogprobSchema>;

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
 * The legacy shape, OpenAI's SDK types widened where OpenAI writes null (an echoed prompt's first token,
 * which nothing comes before).
 */
export interface CompletionLogprobsOut {
  tokens: string[];
  token_logprobs: Array<number | null>;
  top_logprobs: Array<Record<string, number> | null>;
  text_offset: number[];
}

/**
 * The legacy shape. Each token's dict holds its alternatives and the token itself (as vLLM and OpenAI's
 * legacy models answer); `text_offset` counts the characters of the text before each token (a character
 * split over tokens counted once whole).
 */
export function completionLogprobs(
  entries: readonly PromptTokenLogprobOut[],
  /** Characters before the first entry's: a stream's text so far. */
  from = 0,
): CompletionLogprobsOut {
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
      if (entry.logprob === null) return null;
      const dict: Record<string, number> = {};
      for (const alt of [...entry.top, entry])
        dict[alt.token] = Math.max(dict[alt.token] ?? -Infinity, alt.logprob);
      return dict;
    }),
    text_offset,
  };
}

/**
 * An echoed completion's: the prompt's tokens, then the answer's, whose offsets count from the end of the
 * prompt as the caller wrote it (its tokens' text may spell it differently, e.g. a tokenizer's spacing).
 */
export function echoedCompletionLogprobs(
  prompt: { readonly text: string; readonly entries: readonly PromptTokenLogprobOut[] },
  entries: readonly TokenLogprobOut[],
): CompletionLogprobsOut {
  const head = completionLogprobs(prompt.entries);
  const tail = completionLogprobs(entries, prompt.text.length);
  return {
    tokens: [...head.tokens, ...tail.tokens],
    token_logprobs: [...head.token_logprobs, ...tail.token_logprobs],
    top_logprobs: [...head.top_logprobs, ...tail.top_logprobs],
    text_offset: [...head.text_offset, ...tail.text_offset],
  };
}
