/**
 * Finds OpenAI-style stop sequences in streamed text. Text that might be the start of a stop sequence
 * is held back until the next piece decides, so a stop sequence never reaches the caller, even split
 * across tokens.
 */
export class StopSequenceMatcher {
  private readonly stops: readonly string[];
  private held = '';
  private stopped = false;
  /** The stop sequence that ended the text, once one has. */
  matched: string | undefined;

  constructor(stops: readonly string[]) {
    if (stops.some((stop) => stop === '')) throw new RangeError('stop sequences must not be empty');
    this.stops = stops;
  }

  /** Feeds the next piece; returns the text that is safe to emit and whether a stop sequence ended it. */
  push(piece: string): { emit: string; stopped: boolean } {
    if (this.stopped) return { emit: '', stopped: true };
    const text = this.held + piece;
    let first = -1;
    for (const stop of this.stops) {
      const at = text.indexOf(stop);
      if (at !== -1 && (first === -1 || at < first)) {
        first = at;
        this.matched = stop;
      }
    }
    if (first !== -1) {
      this.held = '';
      this.stopped = true;
      return { emit: text.slice(0, first), stopped: true };
    }
    const keep = this.longestStopPrefixSuffix(text);
    this.held = text.slice(text.length - keep);
    return { emit: text.slice(0, text.length - keep), stopped: false };
  }

  /** The held-back text, when generation ends for another reason. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest end of `text` that begins some stop sequence. */
  private longestStopPrefixSuffix(text: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, text.length); length > best; length--) {
        if (text.endsWith(stop.slice(0, length))) {
          best = length;
          break;
        }
      }
    }
    return best;
  }
}
