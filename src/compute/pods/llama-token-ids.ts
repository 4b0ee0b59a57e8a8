// Prompts and embedding inputs given as token ids (as evaluation harnesses send them, tokenized with the
// model's own tokenizer): taken as they are, once each is known to be a token of the model's vocabulary.
// llama.cpp reads an id past its vocabulary out of bounds, so none reaches it unchecked.
import type { LlamaModel, Token } from 'node-llama-cpp';
import { PodBadRequestError, PodUnsupportedError } from './errors.ts';

/** The number of tokens in the model's vocabulary, from its GGUF file; undefined if it does not say. */
export function vocabularySize(model: LlamaModel): number | undefined {
  const tokens = (model.fileInfo.metadata.tokenizer?.ggml as { tokens?: unknown } | undefined)?.tokens;
  return Array.isArray(tokens) && tokens.length > 0 ? tokens.length : undefined;
}

/** `ids` as tokens of the model, or a refusal naming `param` and the first id it does not have. */
export function checkedTokenIds(model: LlamaModel, ids: readonly number[], param: string): Token[] {
  const size = vocabularySize(model);
  if (size === undefined) {
    throw new PodUnsupportedError(
      "This pod's model does not list its vocabulary, so token ids cannot be checked: send text",
      {
        param,
      },
    );
  }
  const outside = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= size);
  if (outside !== -1) {
    throw new PodBadRequestError(
      `${param}[${outside}]: token id ${ids[outside]} is not in the model's vocabulary (ids 0 to ${size - 1})`,
      { param: `${param}[${outside}]` },
    );
  }
  return ids as Token[];
}
