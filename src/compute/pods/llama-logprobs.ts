// Log probabilities of the tokens a llama-cpp pod samples, as OpenAI's `logprobs` show them: each token of
// the answer's text with its log probability under the distribution it was drawn from (the model's own
// at temperature 0; temperature, top_p and a grammar applied otherwise), and the most likely tokens at
// its place. The decoder gives text for whole characters only, so a character split over several tokens
// is shown as OpenAI shows one: each token's own bytes (`bytes:\xe2\x82` as its text) when the vocabulary
// has them, else the whole character on its last token.
import type { LlamaModel, Token } from 'node-llama-cpp';
import { type TokenBytes, tokenBytesOf } from './llama-token-bytes.ts';
import { type TokenChoice, type TokenLogprob, UNWRITABLE_LOGPROB } from './types.ts';

export function logprobOf(probability: number): number {
  const value = Math.log(probability);
  if (Number.isNaN(value) || value < UNWRITABLE_LOGPROB) return UNWRITABLE_LOGPROB;
  return Math.min(value, 0);
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A token's text: its bytes as UTF-8, or OpenAI's `bytes:\xNN…` for bytes that are not. */
function textOfBytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return `bytes:${[...bytes].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}`;
  }
}

interface Sampled {
  token: Token;
  choice: TokenChoice;
  alternatives: Array<{ token: Token; choice: TokenChoice }>;
  /** Characters of the answer's text this token stands for. */
  span: number;
}

export class LogprobCollector {
  readonly #sampled: Sampled[] = [];
  #undecoded = 0;
  readonly #bytesOf: TokenBytes | undefined;

  constructor(
    private readonly model: LlamaModel,
    /** Alternatives per token (0: none). */
    readonly top: number,
  ) {
    this.#bytesOf = tokenBytesOf(model);
  }

  /** A token drawn with `probability`; `probabilities`, most likely first, when alternatives are asked. */
  sampled(token: Token, probability: number, probabilities?: ReadonlyMap<Token, number>): void {
    const alternatives: Sampled['alternatives'] = [];
    if (probabilities !== undefined) {
      for (const [alternative, p] of probabilities) {
        if (alternatives.length >= this.top) break;
        alternatives.push({
          token: alternative,
          choice: { ...this.#named(alternative), logprob: logprobOf(p) },
        });
      }
    }
    this.#sampled.push({
      token,
      choice: { token: '', logprob: logprobOf(probability), bytes: [] },
      alternatives,
      span: 0,
    });
  }

  /** The decoder's text for the tokens sampled since it last gave text. */
  decoded(text: string): void {
    const group = this.#sampled.slice(this.#undecoded);
    this.#undecoded = this.#sampled.length;
    const last = group.at(-1);
    if (last === undefined) return;
    const whole = utf8.encode(text);
    const raw = group.length > 1 ? group.map((s) => this.#bytesOf?.(s.token)) : undefined;
    if (raw !== undefined && sameBytes(raw, whole)) {
      group.forEach((sampled, i) => {
        const bytes = raw[i] as Uint8Array;
        shownAs(sampled, { token: textOfBytes(bytes), bytes: [...bytes] });
      });
    } else {
      for (const sampled of group) shownAs(sampled, { token: '', bytes: [] });
      shownAs(last, { token: text, bytes: [...whole] });
    }
    last.span = text.length;
  }

  /** The entries of the answer's first `length` characters, in order. */
  entries(length: number): TokenLogprob[] {
    const entries: TokenLogprob[] = [];
    let start = 0;
    for (const sampled of this.#sampled.slice(0, this.#undecoded)) {
      if (start >= length) break;
      entries.push(entryOf(sampled));
      start += sampled.span;
    }
    return entries;
  }

  #released = 0;
  #releasedUpTo = 0;

  /**
   * The entries of the answer's first `length` characters not released before: those of a piece of text
   * just streamed, so that the pieces' entries together are `entries` of the whole text.
   */
  release(length: number): TokenLogprob[] {
    const entries: TokenLogprob[] = [];
    while (this.#released < this.#undecoded && this.#releasedUpTo < length) {
      const sampled = this.#sampled[this.#released++] as Sampled;
      entries.push(entryOf(sampled));
      this.#releasedUpTo += sampled.span;
    }
    return entries;
  }

  #named(token: Token): { token: string; bytes: number[] } {
    const bytes = this.#bytesOf?.(token);
    if (bytes !== undefined) return { token: textOfBytes(bytes), bytes: [...bytes] };
    // A control token (end of turn...) by its name, as OpenAI shows them.
    const text = this.model.detokenize([token], true);
    return { token: text, bytes: [...utf8.encode(text)] };
  }
}

function entryOf(sampled: Sampled): TokenLogprob {
  return { ...sampled.choice, top: sampled.alternatives.map((alt) => alt.choice) };
}

/** The sampled token reads as it does in the answer, also among its alternatives. */
function shownAs(sampled: Sampled, named: { token: string; bytes: number[] }): void {
  sampled.choice = { ...named, logprob: sampled.choice.logprob };
  for (const alt of sampled.alternatives) {
    if (alt.token === sampled.token) alt.choice = { ...named, logprob: alt.choice.logprob };
  }
}

function sameBytes(parts: readonly (Uint8Array | undefined)[], whole: Uint8Array): boolean {
  let at = 0;
  for (const part of parts) {
    if (part === undefined) return false;
    for (const byte of part) if (whole[at++] !== byte) return false;
  }
  return at === whole.length;
}
