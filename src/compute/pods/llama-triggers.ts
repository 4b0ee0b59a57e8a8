import type { LlamaModel, LlamaText, Token } from 'node-llama-cpp';

/**
 * A chat template's triggers (end of turn, a call's prefix) split by how they are matched: plain text
 * ones as text, in what the model writes; those with special tokens as token sequences.
 */
export function splitTriggers(
  model: LlamaModel,
  triggers: readonly LlamaText[],
): { text: string[]; tokens: Token[][] } {
  const text: string[] = [];
  const tokens: Token[][] = [];
  for (const trigger of triggers) {
    if (trigger.values.every((value) => typeof value === 'string')) text.push(trigger.values.join(''));
    else tokens.push(trigger.tokenize(model.tokenizer));
  }
  return { text: text.filter((t) => t !== ''), tokens: tokens.filter((t) => t.length > 0) };
}
