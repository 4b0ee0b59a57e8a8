// Whether a model that has just written a tool call goes on to another in the same turn (OpenAI's
// `parallel_tool_calls`). The chat template says how a turn of several calls is written; the model's own
// odds decide, between the token that would begin another call and those that would end its calls, in
// one draw: text is not among the choices, as a turn's calls end it (OpenAI's calls come last too).
import { createHash, randomBytes } from 'node:crypto';
import type { Token } from 'node-llama-cpp';

export interface NextCallChoice {
  /** The first token of what begins another call (what goes between calls, then a call's prefix). */
  readonly next: Token;
  /** Tokens that end the calls: the first of the template's closing of them, and end-of-turn tokens. */
  readonly ends: ReadonlySet<Token>;
}

/**
 * At temperature 0 the likelier choice wins (a tie ends the calls); otherwise `draw` (uniform in [0, 1))
 * picks by the two choices' odds. A template whose next call begins as its calls end never calls again.
 */
export function callsAgain(
  odds: ReadonlyMap<Token, number>,
  choice: NextCallChoice,
  draw: number,
  greedy: boolean,
): boolean {
  if (choice.ends.has(choice.next)) return false;
  const again = odds.get(choice.next) ?? 0;
  if (again === 0) return false;
  let end = 0;
  for (const token of choice.ends) end += odds.get(token) ?? 0;
  return greedy ? again > end : draw * (again + end) < again;
}

/** Uniform in [0, 1): the same for the same seed and call, so a seeded job repeats; random without one. */
export function callDraw(seed: number | undefined, call: number): number {
  const bytes = seed === undefined ? randomBytes(6) : createHash('sha256').update(`${seed}:${call}`).digest();
  return bytes.readUIntBE(0, 6) / 2 ** 48;
}
