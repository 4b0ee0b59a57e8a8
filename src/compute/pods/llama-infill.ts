// Fill in the middle on a llama-cpp pod (a completion with a `suffix`): code models are trained to write
// what goes between a prefix and a suffix when shown them around their fill-in-the-middle tokens.
import type { LlamaModel, Token } from 'node-llama-cpp';
import { PodUnsupportedError } from './errors.ts';

/**
 * The prompt of a completion that fills the gap between `prefix` (tokenized already) and `suffix`, in
 * the prefix-suffix-middle order llama.cpp's server writes: the model's answer is the middle. A model
 * without the three tokens cannot be asked this, and says so.
 */
export function infillTokens(model: LlamaModel, prefix: readonly Token[], suffix: string): Token[] {
  const { prefix: pre, suffix: suf, middle: mid } = model.tokens.infill;
  if (pre === null || suf === null || mid === null) {
    throw new PodUnsupportedError(
      'suffix: this model has no fill-in-the-middle tokens (a code model such as Qwen2.5-Coder, ' +
        'StarCoder or CodeLlama has them)',
      { param: 'suffix' },
    );
  }
  return [pre, ...prefix, suf, ...model.tokenize(suffix, true), mid];
}
