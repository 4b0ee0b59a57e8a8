// neurino-bench: a llama-architecture GGUF model with seeded weights, large enough that evaluating a
// prompt on it is matrix work rather than overhead, small enough to build in a blink. The miner's
// self-benchmark runs it through llama.cpp on the device its pods use.
import { encodeGguf, type GgufTensor } from './gguf-writer.ts';
import { type LlamaShape, llamaMetadata } from './llama-metadata.ts';
import { seededRandom } from './seeded-random.ts';
import { tinyVocabulary } from './tiny-vocabulary.ts';

export const BENCHMARK_MODEL_NAME = 'neurino-bench';

export const BENCHMARK_MODEL_SHAPE: LlamaShape = {
  embedding: 384,
  layers: 4,
  heads: 6,
  feedForward: 1024,
  contextLength: 512,
};

const POOL_LENGTH = 8_191;

/** Multiply-adds per token through the layers' weight matrices (the work the benchmark counts). */
export function layerWeightsPerToken(shape: LlamaShape): number {
  const { embedding: n, feedForward: ff, layers } = shape;
  return layers * (4 * n * n + 3 * n * ff);
}

/** The model's bytes; the same shape always gives the same bytes. */
export function buildBenchmarkModel(shape: LlamaShape = BENCHMARK_MODEL_SHAPE): Uint8Array {
  if (shape.embedding % shape.heads !== 0) throw new RangeError('embedding must be a multiple of heads');
  const random = seededRandom(7);
  // The values do not change the work, so each matrix is a prime-length run of seeded values, repeated
  // from a new offset, which is quicker than drawing each of the 7 million weights.
  const pool = Float32Array.from({ length: POOL_LENGTH }, () => random.uniform() - 0.5);
  let offset = 0;
  const matrix = (inputs: number, outputs: number): Float32Array => {
    const scale = 2 / Math.sqrt(inputs);
    const data = new Float32Array(inputs * outputs);
    offset = (offset + 1_009) % POOL_LENGTH;
    for (let i = 0, j = offset; i < data.length; i++, j = j + 1 === POOL_LENGTH ? 0 : j + 1) {
      data[i] = (pool[j] as number) * scale;
    }
    return data;
  };
  const vocabulary = tinyVocabulary();
  const { embedding: n, feedForward: ff } = shape;
  const ones = () => new Float32Array(n).fill(1);
  const tensors: GgufTensor[] = [
    { name: 'token_embd.weight', dims: [n, vocabulary.length], data: matrix(n, vocabulary.length) },
  ];
  for (let layer = 0; layer < shape.layers; layer++) {
    const prefix = `blk.${layer}`;
    tensors.push(
      { name: `${prefix}.attn_norm.weight`, dims: [n], data: ones() },
      { name: `${prefix}.attn_q.weight`, dims: [n, n], data: matrix(n, n) },
      { name: `${prefix}.attn_k.weight`, dims: [n, n], data: matrix(n, n) },
      { name: `${prefix}.attn_v.weight`, dims: [n, n], data: matrix(n, n) },
      { name: `${prefix}.attn_output.weight`, dims: [n, n], data: matrix(n, n) },
      { name: `${prefix}.ffn_norm.weight`, dims: [n], data: ones() },
      { name: `${prefix}.ffn_gate.weight`, dims: [n, ff], data: matrix(n, ff) },
      { name: `${prefix}.ffn_up.weight`, dims: [n, ff], data: matrix(n, ff) },
      { name: `${prefix}.ffn_down.weight`, dims: [ff, n], data: matrix(ff, n) },
    );
  }
  tensors.push(
    { name: 'output_norm.weight', dims: [n], data: ones() },
    { name: 'output.weight', dims: [n, vocabulary.length], data: matrix(n, vocabulary.length) },
  );
  const metadata = llamaMetadata({
    name: BENCHMARK_MODEL_NAME,
    description: 'Seeded weights for the miner self-benchmark; its output means nothing',
    shape,
    vocabulary,
  });
  return encodeGguf({ metadata, tensors });
}
