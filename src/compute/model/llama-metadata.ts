// The GGUF metadata of the llama-architecture models the project generates: the shape, and the small
// byte-level vocabulary with its ChatML template.
import type { GgufValue } from './gguf-writer.ts';
import { CHATML_TEMPLATE, FIM_TOKENS, SPECIAL_TOKENS, type VocabularyEntry } from './tiny-vocabulary.ts';

export interface LlamaShape {
  readonly embedding: number;
  readonly layers: number;
  readonly heads: number;
  readonly feedForward: number;
  readonly contextLength: number;
}

export interface LlamaMetadataOptions {
  readonly name: string;
  readonly description: string;
  readonly shape: LlamaShape;
  readonly vocabulary: readonly VocabularyEntry[];
}

/** All tensors F32, every head its own key/value head. */
export function llamaMetadata(options: LlamaMetadataOptions): Array<[string, GgufValue]> {
  const { embedding, layers, heads, feedForward, contextLength } = options.shape;
  const vocabulary = options.vocabulary;
  const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
  return [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: options.name }],
    ['general.description', { type: 'string', value: options.description }],
    ['general.file_type', u32(0)], // all F32
    ['general.alignment', u32(32)],
    ['llama.context_length', u32(contextLength)],
    ['llama.embedding_length', u32(embedding)],
    ['llama.block_count', u32(layers)],
    ['llama.feed_forward_length', u32(feedForward)],
    ['llama.attention.head_count', u32(heads)],
    ['llama.attention.head_count_kv', u32(heads)],
    ['llama.rope.dimension_count', u32(embedding / heads)],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'float32', value: 1e-5 }],
    ['llama.vocab_size', u32(vocabulary.length)],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: vocabulary.map((e) => e.piece) }],
    ['tokenizer.ggml.scores', { type: 'array', itemType: 'float32', value: vocabulary.map((e) => e.score) }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'int32', value: vocabulary.map((e) => e.type) }],
    ['tokenizer.ggml.unknown_token_id', u32(SPECIAL_TOKENS.unknown)],
    ['tokenizer.ggml.bos_token_id', u32(SPECIAL_TOKENS.bos)],
    ['tokenizer.ggml.eos_token_id', u32(SPECIAL_TOKENS.eos)],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
    // Without this, text after a special token gains a leading space.
    ['tokenizer.ggml.add_space_prefix', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: CHATML_TEMPLATE }],
    ...fimMetadata(vocabulary),
  ];
}

/** llama.cpp's keys for the fill-in-the-middle tokens, when the vocabulary has them. */
function fimMetadata(vocabulary: readonly VocabularyEntry[]): Array<[string, GgufValue]> {
  const ids = Object.entries(FIM_TOKENS).map(([part, piece]) => [
    part,
    vocabulary.findIndex((entry) => entry.piece === piece),
  ]);
  if (ids.some(([, id]) => id === -1)) return [];
  const key = { prefix: 'pre', suffix: 'suf', middle: 'mid' } as const;
  return ids.map(([part, id]) => [
    `tokenizer.ggml.fim_${key[part as keyof typeof key]}_token_id`,
    { type: 'uint32', value: id as number },
  ]);
}
