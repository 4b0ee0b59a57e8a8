// The raw bytes of a model's tokens, from the vocabulary in its GGUF file: what a logprobs entry shows of
// a token that holds part of a character (llama.cpp's detokenizer only gives text, where such a token is
// U+FFFD). SentencePiece vocabularies write a byte token as `<0xE2>` and a space as `▁`; GPT-2-style BPE
// vocabularies write each byte as one printable character (GPT-2's byte-to-unicode table).
import type { LlamaModel, Token } from 'node-llama-cpp';

/** llama.cpp's token types: a control token (`</s>`, `<|eot_id|>`) has no bytes of text. */
const CONTROL_TOKEN = 3;

export type TokenBytes = (token: Token) => Uint8Array | undefined;

const byModel = new WeakMap<LlamaModel, TokenBytes | undefined>();

/** The model's token → bytes (one table per model), or undefined for a vocabulary not read here. */
export function tokenBytesOf(model: LlamaModel): TokenBytes | undefined {
  if (!byModel.has(model)) byModel.set(model, readTokenBytes(model));
  return byModel.get(model);
}

function readTokenBytes(model: LlamaModel): TokenBytes | undefined {
  const ggml = model.fileInfo.metadata.tokenizer?.ggml as
    | { model?: unknown; tokens?: unknown; token_type?: unknown }
    | undefined;
  const tokens = ggml?.tokens;
  if (!Array.isArray(tokens)) return undefined;
  const types = Array.isArray(ggml?.token_type) ? (ggml.token_type as unknown[]) : [];
  const decode =
    ggml?.model === 'llama' ? sentencePieceBytes : ggml?.model === 'gpt2' ? byteLevelBytes : undefined;
  if (decode === undefined) return undefined;
  const cache = new Map<Token, Uint8Array | undefined>();
  return (token) => {
    if (cache.has(token)) return cache.get(token);
    const piece = tokens[token];
    const bytes = typeof piece === 'string' && types[token] !== CONTROL_TOKEN ? decode(piece) : undefined;
    cache.set(token, bytes);
    return bytes;
  };
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function sentencePieceBytes(piece: string): Uint8Array {
  const byte = BYTE_TOKEN.exec(piece);
  if (byte !== null) return Uint8Array.of(Number.parseInt(byte[1] ?? '0', 16));
  return new TextEncoder().encode(piece.replaceAll('\u2581', ' '));
}

let byteOfChar: Map<string, number> | undefined;

/** GPT-2's table: printable bytes stand for themselves, the others for code points from 256 on. */
function byteLevelTable(): Map<string, number> {
  if (byteOfChar !== undefined) return byteOfChar;
  const table = new Map<string, number>();
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  for (let b = 0; b < 256; b++) table.set(String.fromCodePoint(printable(b) ? b : next++), b);
  byteOfChar = table;
  return table;
}

function byteLevelBytes(piece: string): Uint8Array | undefined {
  const table = byteLevelTable();
  const bytes: number[] = [];
  for (const char of piece) {
    const byte = table.get(char);
    if (byte === undefined) return undefined;
    bytes.push(byte);
  }
  return Uint8Array.from(bytes);
}
