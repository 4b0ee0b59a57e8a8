// A completion's `best_of`: the node writes `best_of` choices per prompt, and each prompt is answered with
// the `n` whose tokens are likeliest on average (the highest mean log probability per token, as OpenAI
// ranks them), best first. The node is asked for the tokens' log probabilities to rank by; they are left
// out of the answer unless the caller asked for them. Every written choice is paid, as OpenAI bills them.
import type { TokenLogprobOut } from '../../protocol/openai-logprobs.ts';

interface Ranked {
  logprobs?: TokenLogprobOut[];
}

/** Mean log probability per token; a choice of no tokens ranks last. */
function meanLogprob(choice: Ranked): number {
  const entries = choice.logprobs ?? [];
  if (entries.length === 0) return Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const entry of entries) sum += entry.logprob;
  return sum / entries.length;
}

/**
 * Of `choices` (`candidates` per prompt, prompt by prompt), each prompt's `n` best, best first (ties in
 * the order written), with their log probabilities only when `keepLogprobs`.
 */
export function bestOf<C extends Ranked>(
  choices: readonly C[],
  candidates: number,
  n: number,
  keepLogprobs: boolean,
): C[] {
  const answered: C[] = [];
  for (let from = 0; from < choices.length; from += candidates) {
    const scored = choices
      .slice(from, from + candidates)
      .map((choice, order) => ({ choice, order, score: meanLogprob(choice) }));
    scored.sort((a, b) => b.score - a.score || a.order - b.order);
    for (const { choice } of scored.slice(0, n)) {
      if (keepLogprobs) answered.push(choice);
      else {
        const { logprobs: _dropped, ...rest } = choice;
        answered.push(rest as C);
      }
    }
  }
  return answered;
}
