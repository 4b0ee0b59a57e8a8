// neurino-tiny: a small llama-architecture GGUF model with seeded random weights. Nothing can download
// weights here, so tests, the devnet and validators run llama.cpp on this file instead.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeGguf, type GgufTensor } from './gguf-writer.ts';
import { type LlamaShape, llamaMetadata } from './llama-metadata.ts';
import { type SeededRandom, seededRandom } from './seeded-random.ts';
import { byteOfPiece, SPECIAL_TOKENS, TokenType, tinyVocabulary } from './tiny-vocabulary.ts';

export const TINY_MODEL_NAME = 'neurino-tiny';
export const TINY_MODEL_DEFAULT_SEED = 1;

/** `neurino-tiny.gguf` for the default seed, `neurino-tiny-seed-N.gguf` otherwise. */
export function tinyModelFileName(seed: number = TINY_MODEL_DEFAULT_SEED): string {
  return seed === TINY_MODEL_DEFAULT_SEED
    ? `${TINY_MODEL_NAME}.gguf`
    : `${TINY_MODEL_NAME}-seed-${seed}.gguf`;
}

export const TINY_MODEL_SHAPE: LlamaShape = {
  embedding: 64,
  layers: 2,
  heads: 4,
  feedForward: 128,
  contextLength: 1024,
};

export interface TinyModelOptions {
  /** Weights seed (uint32); the same seed always gives the same bytes. */
  readonly seed?: number;
  /** Fill-in-the-middle tokens in the vocabulary (a code model's), for completions with a `suffix`. */
  readonly fim?: boolean;
}

export interface TinyModelFile {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

// Dimension 0 of the residual stream carries a constant that no layer writes to (their output rows for
// it are zero), so the output matrix's column 0 acts as a per-token logit bias. The biases keep control
// tokens and stray bytes out of generated text and let end-of-turn tokens come up now and then.
const BIAS_CONSTANT = 16;
/** Roughly the value of dimension 0 after the final RMS norm (the constant dominates the stream). */
const NORMED_BIAS_CONSTANT = 7;
const NEVER = -40;
const STOP_BIAS = 3;
const NEWLINE_BYTE = 0x0a;

function tokenBias(piece: string, type: number, id: number): number | undefined {
  if (id === SPECIAL_TOKENS.eos || piece === '<|im_end|>') return STOP_BIAS;
  if (type === TokenType.control || type === TokenType.unknown) return NEVER;
  if (type === TokenType.byte) return byteOfPiece(piece) === NEWLINE_BYTE ? 0 : NEVER;
  return 0;
}

function matrix(random: SeededRandom, inputs: number, outputs: number, scale: number): Float32Array {
  const data = new Float32Array(inputs * outputs);
  for (let i = 0; i < data.length; i++) data[i] = random.normal() * scale;
  return data;
}

/** Zeroes what a layer reads from dimension 0 ('reads') or what it writes to it ('writes'). */
function isolateBiasDimension(data: Float32Array, inputs: number, outputs: number, side: 'reads' | 'writes') {
  if (side === 'writes') data.fill(0, 0, inputs);
  else for (let row = 0; row < outputs; row++) data[row * inputs] = 0;
  return data;
}

function layerTensors(random: SeededRandom, layer: number): GgufTensor[] {
  const { embedding: n, feedForward: ff } = TINY_MODEL_SHAPE;
  const reads = (inputs: number, outputs: number) =>
    isolateBiasDimension(matrix(random, inputs, outputs, 0.3), inputs, outputs, 'reads');
  const writes = (inputs: number, outputs: number) =>
    isolateBiasDimension(matrix(random, inputs, outputs, 0.1), inputs, outputs, 'writes');
  const prefix = `blk.${layer}`;
  return [
    { name: `${prefix}.attn_norm.weight`, dims: [n], data: new Float32Array(n).fill(1) },
    { name: `${prefix}.attn_q.weight`, dims: [n, n], data: reads(n, n) },
    { name: `${prefix}.attn_k.weight`, dims: [n, n], data: reads(n, n) },
    { name: `${prefix}.attn_v.weight`, dims: [n, n], data: reads(n, n) },
    { name: `${prefix}.attn_output.weight`, dims: [n, n], data: writes(n, n) },
    { name: `${prefix}.ffn_norm.weight`, dims: [n], data: new Float32Array(n).fill(1) },
    { name: `${prefix}.ffn_gate.weight`, dims: [n, ff], data: reads(n, ff) },
    { name: `${prefix}.ffn_up.weight`, dims: [n, ff], data: reads(n, ff) },
    { name: `${prefix}.ffn_down.weight`, dims: [ff, n], data: writes(ff, n) },
  ];
}

function tensors(random: SeededRandom, vocabulary: ReturnType<typeof tinyVocabulary>): GgufTensor[] {
  const n = TINY_MODEL_SHAPE.embedding;
  const vocab = vocabulary.length;
  const embeddings = matrix(random, n, vocab, 1);
  for (let token = 0; token < vocab; token++) embeddings[token * n] = BIAS_CONSTANT;
  const output = matrix(random, n, vocab, 0.55);
  vocabulary.forEach((entry, token) => {
    const bias = tokenBias(entry.piece, entry.type, token) ?? 0;
    // Tokens with a fixed bias get no random part, so their logit is the bias itself.
    if (bias !== 0) output.fill(0, token * n, (token + 1) * n);
    output[token * n] = bias / NORMED_BIAS_CONSTANT;
  });
  const layers = Array.from({ length: TINY_MODEL_SHAPE.layers }, (_, layer) => layerTensors(random, layer));
  return [
    { name: 'token_embd.weight', dims: [n, vocab], data: embeddings },
    ...layers.flat(),
    { name: 'output_norm.weight', dims: [n], data: new Float32Array(n).fill(1) },
    { name: 'output.weight', dims: [n, vocab], data: output },
  ];
}

/** Builds the model in memory. */
export function buildTinyModel(options: TinyModelOptions = {}): { bytes: Uint8Array; sha256: string } {
  const seed = options.seed ?? TINY_MODEL_DEFAULT_SEED;
  const random = seededRandom(seed);
  const vocabulary = tinyVocabulary({ fim: options.fim === true });
  const metadata = llamaMetadata({
    name: TINY_MODEL_NAME,
    description: `Seeded random weights (seed ${seed}) for tests`,
    shape: TINY_MODEL_SHAPE,
    vocabulary,
  });
  const bytes = encodeGguf({ metadata, tensors: tensors(random, vocabulary) });
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Writes the model to `path` (atomically: a reader never sees half a file). */
export async function writeTinyModel(path: string, options: TinyModelOptions = {}): Promise<TinyModelFile> {
  const { bytes, sha256 } = buildTinyModel(options);
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, bytes);
  await rename(partial, path);
  return { path, sha256, bytes: bytes.length };
}

/** The model in `dir` (see tinyModelFileName), generated only when missing or not this seed's exact bytes. */
export async function ensureTinyModel(
  dir: string,
  options: TinyModelOptions = {},
): Promise<TinyModelFile & { created: boolean }> {
  const path = join(dir, tinyModelFileName(options.seed));
  const expected = buildTinyModel(options);
  const existing = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing !== undefined && createHash('sha256').update(existing).digest('hex') === expected.sha256) {
    return { path, sha256: expected.sha256, bytes: existing.length, created: false };
  }
  return { ...(await writeTinyModel(path, options)), created: true };
}
