import type { LlamaModel, Token } from 'node-llama-cpp';

/** Longest UTF-8 sequence: byte-fallback tokens of one character never span more tokens than this. */
const MAX_UTF8_BYTES = 4;
/** Tokens of context kept for the detokenizer's spacing rules. */
const CONTEXT_TOKENS = 8;

/**
 * Turns sampled tokens into text one token at a time, holding back tokens that end inside a UTF-8
 * character (byte-fallback tokens) until the character is complete. Special tokens decode to '' unless
 * `specialTokens` (a prompt's, which spell the text the caller wrote).
 */
export class TokenTextDecoder {
  private pending: Token[] = [];
  private context: Token[];

  constructor(
    private readonly model: LlamaModel,
    precedingTokens: readonly Token[] = [],
    private readonly specialTokens = false,
  ) {
    this.context = precedingTokens.slice(-CONTEXT_TOKENS);
  }

  /** Tokens held back, waiting for the rest of their character. */
  get holding(): boolean {
    return this.pending.length > 0;
  }

  push(token: Token): string {
    this.pending.push(token);
    const text = this.model.detokenize(this.pending, this.specialTokens, this.context);
    if (text.endsWith('\uFFFD') && this.pending.length < MAX_UTF8_BYTES) return '';
    this.context = [...this.context, ...this.pending].slice(-CONTEXT_TOKENS);
    this.pending = [];
    return text;
  }

  /** Whatever is still held back (an incomplete character decodes to U+FFFD). */
  flush(): string {
    if (this.pending.length === 0) return '';
    const text = this.model.detokenize(this.pending, this.specialTokens, this.context);
    this.pending = [];
    return text;
  }
}
