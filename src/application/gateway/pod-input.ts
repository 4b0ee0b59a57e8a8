// What a node receives for the OpenAI routes: the request reduced to the fields pod runtimes read, with
// OpenAI's alternatives (content parts, null, a stop string) already normalised. It stays an OpenAI
// body: the node checks it against the same schema (compute/miner/job-input.ts).
import { FatalError } from '../../protocol/errors.ts';
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  type EmbeddingRequest,
  inputsOf,
  podMessages,
  samplingFields,
} from '../../protocol/openai.ts';
import { podTools } from '../../protocol/openai-tools.ts';

export function chatInput(request: ChatCompletionRequest): { input: unknown; count: number } {
  const format = request.response_format;
  const input = {
    ...samplingFields(request),
    messages: podMessages(request.messages),
    ...(format == null || format.type === 'text' ? {} : { response_format: format }),
    ...podTools(request.tools, request.tool_choice),
  };
  return { input, count: 1 };
}

/** The node's input and how many choices it must return; a streamed completion takes one prompt. */
export function completionInput(request: CompletionRequest): { input: unknown; count: number } {
  const prompts = inputsOf(request.prompt);
  if (request.stream === true && prompts.length !== 1) {
    throw new FatalError('unsupported_parameter', {
      message: 'a streamed completion takes exactly one prompt',
      param: 'prompt',
    });
  }
  const prompt = prompts.length === 1 ? prompts[0] : prompts;
  return { input: { ...samplingFields(request), prompt }, count: prompts.length };
}

/** The node's input and how many vectors it must return. */
export function embeddingInput(request: EmbeddingRequest): { input: unknown; count: number } {
  if (request.dimensions !== undefined) {
    throw new FatalError('unsupported_parameter', {
      message: 'dimensions is not supported: the model answers with its own size',
      param: 'dimensions',
    });
  }
  const inputs = inputsOf(request.input);
  return { input: { model: request.model, input: request.input }, count: inputs.length };
}
