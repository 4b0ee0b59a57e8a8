// OpenAI's chat messages as node-llama-cpp's chat history, which its chat wrappers render in each
// model's template.
import type { ChatHistoryItem, ChatModelFunctionCall } from 'node-llama-cpp';
import type { NormalizedMessage } from './types.ts';

/**
 * OpenAI's messages as node-llama-cpp's chat history. A tool message's content becomes the result of the
 * call it answers, and an assistant message after tool results continues that turn, as the model wrote it:
 * a request ending with tool results has the model go on from them.
 */
export function chatHistory(messages: readonly NormalizedMessage[]): ChatHistoryItem[] {
  const items: ChatHistoryItem[] = [];
  const calls = new Map<string, ChatModelFunctionCall>();
  let afterResults = false;
  for (const m of messages) {
    if (m.role === 'tool') {
      const call = calls.get(m.toolCallId ?? '');
      if (call !== undefined) call.result = jsonOrText(m.content);
      afterResults = true;
      continue;
    }
    if (m.role === 'assistant') {
      const response: ChatModelResponse = m.content === '' ? [] : [m.content];
      for (const { id, name, arguments: args } of m.toolCalls ?? []) {
        const call: ChatModelFunctionCall = {
          type: 'functionCall',
          name,
          params: jsonOrText(args),
          result: null,
        };
        calls.set(id, call);
        response.push(call);
      }
      const last = items.at(-1);
      if (afterResults && last?.type === 'model') last.response.push(...response);
      else items.push({ type: 'model', response });
    } else {
      items.push({ type: m.role, text: m.content });
    }
    afterResults = false;
  }
  return items;
}

type ChatModelResponse = Extract<ChatHistoryItem, { type: 'model' }>['response'];

/** Arguments and results are JSON text as a rule; anything else is shown to the model as a string. */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
