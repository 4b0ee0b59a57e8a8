import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { CompletionChoice } from 'openai/resources/completions';

/**
 * Log probabilities as OpenAI answers them, from a node's entries (one per token of the text, its bytes
 * joining to the text's UTF-8, its likeliest alternatives): chat's `logprobs.content`, and the legacy
 * completions' parallel lists (`tokens`, `token_logprobs`, `top_logprobs` dicts, `text_offset`).
 */

export interface TokenLogprobOut {
  token: string;
  logprob: number;
  bytes: number[];
  top: Array<{ token: string; logprob: number; bytes: number[] }>;
}

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
 * legacy models answer); `text_offset` counts the characters of the text before each token.
 */
export function completionLogprobs(entries: readonly TokenLogprobOut[]): CompletionChoice.Logprobs {
  const decoder = new TextDecoder();
  let offset = 0;
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
