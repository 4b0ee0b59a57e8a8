// The tool calls of one streamed answer as they reach the caller: what a node streamed of each call, and,
// once its result is checked, what is left to send so the caller ends with the result's calls.
import type { ToolCallDeltaOut, ToolCallOut } from './openai-responses.ts';

export class StreamedCalls {
  readonly #calls: ToolCallOut[] = [];

  /** How many calls were begun. */
  get count(): number {
    return this.#calls.length;
  }

  /** The call at `index` as streamed so far. */
  streamed(index: number): ToolCallOut | undefined {
    return this.#calls[index];
  }

  /**
   * Takes a piece a node streamed; returns it when it fits what came before (a call begun in order, or
   * arguments of a begun call), else undefined: the result decides what such a node answered.
   */
  add(piece: ToolCallDeltaOut): ToolCallDeltaOut | undefined {
    const { index, id, name } = piece;
    if (id !== undefined && name !== undefined) {
      if (index !== this.#calls.length) return undefined;
      this.#calls.push({ id, name, arguments: piece.arguments });
      return piece;
    }
    const call = this.#calls[index];
    if (call === undefined || id !== undefined || name !== undefined) return undefined;
    call.arguments += piece.arguments;
    return piece;
  }

  /**
   * The pieces that complete the result's calls: the rest of each call's arguments, a call not streamed
   * whole. A streamed call the result contradicts (another id, name, or arguments) is left as streamed,
   * as a stream's text is.
   */
  rest(calls: readonly ToolCallOut[]): ToolCallDeltaOut[] {
    const pieces: ToolCallDeltaOut[] = [];
    for (const [index, call] of calls.entries()) {
      const streamed = this.#calls[index];
      if (streamed === undefined) {
        pieces.push({ index, ...call });
        this.#calls[index] = { ...call };
        continue;
      }
      if (streamed.id !== call.id || streamed.name !== call.name) continue;
      if (!call.arguments.startsWith(streamed.arguments)) continue;
      const rest = call.arguments.slice(streamed.arguments.length);
      if (rest !== '') pieces.push({ index, arguments: rest });
      streamed.arguments = call.arguments;
    }
    return pieces;
  }
}
