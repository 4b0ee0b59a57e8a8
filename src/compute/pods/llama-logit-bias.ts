// OpenAI's `logit_bias` on a llama-cpp pod: the ids are the model's own tokens, checked against its
// vocabulary before anything runs, and the biases are added to the logits by llama.cpp's sampler.
import { type LlamaModel, type Token, TokenBias } from 'node-llama-cpp';
import { formatPath } from '../../protocol/schema-errors.ts';
import { PodBadRequestError, PodUnsupportedError } from './errors.ts';
import { vocabularySize } from './llama-token-ids.ts';

/** Refuses ids the model has no token for, before the job runs. */
export function checkLogitBias(model: LlamaModel, bias: ReadonlyMap<number, number> | undefined): void {
  if (bias === undefined) return;
  const size = vocabularySize(model);
  if (size === undefined) {
    throw new PodUnsupportedError("logit_bias: this model's vocabulary cannot be read from its file", {
      param: 'logit_bias',
    });
  }
  for (const token of bias.keys()) {
    if (token >= size) {
      throw new PodBadRequestError(
        `logit_bias: token ${token} is not in this model's vocabulary (ids 0 to ${size - 1})`,
        { param: formatPath(['logit_bias', String(token)]) },
      );
    }
  }
}

const byBias = new WeakMap<ReadonlyMap<number, number>, TokenBias>();

/**
 * The biases as node-llama-cpp's sampler takes them (one per job's map). Its `TokenBias.set` skips
 * end-of-generation tokens, but biasing those is what OpenAI's callers do to keep a model from ending
 * (or to end it sooner), and llama.cpp's sampler takes them like any other: so the entries are written to
 * the map the sampler reads. `logit-bias` tests fail if node-llama-cpp renames it.
 */
export function tokenBiasOf(
  model: LlamaModel,
  bias: ReadonlyMap<number, number> | undefined,
): TokenBias | undefined {
  if (bias === undefined) return undefined;
  let tokenBias = byBias.get(bias);
  if (tokenBias === undefined) {
    tokenBias = new TokenBias(model.tokenizer);
    const entries = (tokenBias as unknown as { _biases?: unknown })._biases;
    if (!(entries instanceof Map)) throw new Error("node-llama-cpp's TokenBias keeps no _biases map");
    for (const [token, logit] of bias) entries.set(token as Token, logit);
    byBias.set(bias, tokenBias);
  }
  return tokenBias;
}
