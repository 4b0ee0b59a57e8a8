// `truncation: 'auto'`: a conversation that outgrows the model's context loses its oldest messages until
// its prompt leaves room for an answer, as OpenAI's Responses API drops items from the beginning. The
// leading system messages stay, and so does the last message (the turn being answered); a tool result is
// never kept without the call before it. What is left out is counted in the output (`truncatedMessages`),
// which the node signs, so a validator re-scores the answer against the prompt the model saw.
import type { NormalizedMessage } from './types.ts';

/** `count` of the oldest messages after the leading system ones left out, and the tool results they answered. */
export function withoutOldest(messages: readonly NormalizedMessage[], count: number): NormalizedMessage[] {
  const head = leadingSystem(messages);
  let from = head + count;
  while (from < messages.length - 1 && messages[from]?.role === 'tool') from++;
  return [...messages.slice(0, head), ...messages.slice(from)];
}

/**
 * The fewest oldest messages left out so that the prompt (`promptLength` tokens) leaves `room` tokens of
 * `contextSize`; when even the last message alone does not, every earlier one is left out (and the
 * prompt is refused as too long as before).
 */
export function fitToContext(
  messages: readonly NormalizedMessage[],
  promptLength: (messages: readonly NormalizedMessage[]) => number,
  room: number,
  contextSize: number,
): { messages: NormalizedMessage[]; truncated: number } {
  const fits = (count: number) => promptLength(withoutOldest(messages, count)) + room <= contextSize;
  if (fits(0)) return { messages: [...messages], truncated: 0 };
  // Droppable: all but the leading system messages and the last one.
  const most = Math.max(0, messages.length - leadingSystem(messages) - 1);
  let low = 1;
  let high = most;
  // The prompt shrinks as more is left out: the fewest that fits, by halving.
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (fits(middle)) high = middle;
    else low = middle + 1;
  }
  const kept = withoutOldest(messages, Math.min(low, most));
  return { messages: kept, truncated: messages.length - kept.length };
}

/** How much room an answer gets: what it may use (`max_tokens`), within a quarter to half the context. */
export function answerRoom(maxTokens: number | undefined, contextSize: number): number {
  return Math.min(maxTokens ?? Math.floor(contextSize / 4), Math.floor(contextSize / 2));
}

function leadingSystem(messages: readonly NormalizedMessage[]): number {
  let head = 0;
  while (head < messages.length - 1 && messages[head]?.role === 'system') head++;
  return head;
}
