// Which tools an upstream's answer may call: those the caller offered, none when it forbade calls. A
// server that calls another (a model making a name up) fails the job, which another node may serve.
import type { GenerateOptions, GenerationResult, ToolCall, ToolOffer } from './types.ts';

/** The tools a call may name: none when the caller forbade calls ('none'). */
export function offeredNames(tools: ToolOffer | undefined): string[] {
  return tools === undefined || tools.choice === 'none' ? [] : tools.tools.map((t) => t.function.name);
}

/**
 * Passes on the pieces of calls of offered tools only: from a call of another name (a model making one
 * up, which fails the job when it ends) nothing more is passed on.
 */
export function offeredOnly(
  relay: NonNullable<GenerateOptions['onToolCall']>,
  offered: readonly string[],
): NonNullable<GenerateOptions['onToolCall']> {
  let stray = false;
  return (piece) => {
    if (piece.name !== undefined && !offered.includes(piece.name)) stray = true;
    if (!stray) relay(piece);
  };
}

/** The answer's first call of a tool not offered, if any. */
export function strayCall(
  result: Pick<GenerationResult, 'toolCalls'>,
  offered: readonly string[],
): ToolCall | undefined {
  return result.toolCalls?.find((call) => !offered.includes(call.name));
}
