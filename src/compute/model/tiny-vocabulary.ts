// The tiny model's SentencePiece-style ("llama") vocabulary: the special tokens llama.cpp expects,
// the 256 byte-fallback tokens, printable ASCII, a few whole words, and the ChatML control tokens.

/** llama.cpp token types (tokenizer.ggml.token_type). */
export const TokenType = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

export interface VocabularyEntry {
  readonly piece: string;
  readonly type: (typeof TokenType)[keyof typeof TokenType];
  readonly score: number;
}

/** SentencePiece writes a space as U+2581. */
const SPACE = '\u2581';
const WORDS = [
  'the',
  'and',
  'of',
  'to',
  'in',
  'is',
  'GPU',
  'node',
  'pod',
  'job',
  'token',
  'Neurino',
  'hello',
];

export const SPECIAL_TOKENS = { unknown: 0, bos: 1, eos: 2 } as const;
export const CHATML_TOKENS = ['<|im_start|>', '<|im_end|>'] as const;
/** Fill-in-the-middle: what comes before the gap, what comes after it, and where the model writes. */
export const FIM_TOKENS = { prefix: '<fim_prefix>', suffix: '<fim_suffix>', middle: '<fim_middle>' } as const;

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

/** Every prefix of length >= 2: the SPM tokenizer reaches a word only through merges of known pieces. */
function wordPieces(): string[] {
  const pieces = new Set<string>();
  for (const word of WORDS) {
    for (const form of [word, SPACE + word]) {
      for (let end = 2; end <= form.length; end++) pieces.add(form.slice(0, end));
    }
  }
  return [...pieces];
}

/** With `fim`, the fill-in-the-middle tokens come last (the other ids stay as they are). */
export function tinyVocabulary(options: { fim?: boolean } = {}): VocabularyEntry[] {
  const entries: VocabularyEntry[] = [
    { piece: '<unk>', type: TokenType.unknown, score: 0 },
    { piece: '<s>', type: TokenType.control, score: 0 },
    { piece: '</s>', type: TokenType.control, score: 0 },
  ];
  for (let byte = 0; byte < 256; byte++)
    entries.push({ piece: `<0x${hex(byte)}>`, type: TokenType.byte, score: 0 });
  const singles = [SPACE];
  for (let code = 0x21; code < 0x7f; code++) singles.push(String.fromCharCode(code));
  // Longer pieces score higher, so merges prefer whole words.
  for (const piece of [...singles, ...wordPieces()]) {
    entries.push({ piece, type: TokenType.normal, score: -100 + piece.length });
  }
  for (const piece of CHATML_TOKENS) entries.push({ piece, type: TokenType.control, score: 0 });
  if (options.fim === true) {
    for (const piece of Object.values(FIM_TOKENS)) entries.push({ piece, type: TokenType.control, score: 0 });
  }
  return entries;
}

/** The byte a `<0xXX>` piece stands for, or undefined for other pieces. */
export function byteOfPiece(piece: string): number | undefined {
  const match = /^<0x([0-9A-F]{2})>$/.exec(piece);
  return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 16);
}

/** ChatML, in the form node-llama-cpp recognises (it then uses its ChatML wrapper). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
