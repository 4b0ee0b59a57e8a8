// A chat's prompt for llama.cpp: its messages through the model's chat template, with the offered tools
// described in the template's own way.
import type { ChatModelFunctions, ChatWrapper } from 'node-llama-cpp';
import { PodBadRequestError } from './errors.ts';
import { enforceableSchema } from './json-schema-support.ts';
import { chatHistory } from './llama-chat-history.ts';
import { toolParametersParam } from './llama-slot-job.ts';
import { chatFunctions, parametersOf } from './llama-tool-calls.ts';
import type { NormalizedMessage, ToolOffer } from './types.ts';

/**
 * The prompt of a chat, with the offered tools described in the template's own way. Every tool's
 * parameter schema is checked first: one the grammar could not enforce is refused before any text.
 */
export function chatContextState(
  wrapper: ChatWrapper,
  messages: readonly NormalizedMessage[],
  tools: ToolOffer | undefined,
) {
  const chatHistoryItems = chatHistory(messages);
  if (tools === undefined) return wrapper.generateContextState({ chatHistory: chatHistoryItems });
  for (const [index, tool] of tools.tools.entries()) {
    enforceableSchema(parametersOf(tool), toolParametersParam(index));
  }
  const availableFunctions: ChatModelFunctions = chatFunctions(tools.tools);
  try {
    return wrapper.generateContextState({
      chatHistory: chatHistoryItems,
      availableFunctions,
      documentFunctionParams: true,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PodBadRequestError(`tools: the chat template cannot describe them: ${reason}`, {
      param: 'tools',
      cause: error,
    });
  }
}
