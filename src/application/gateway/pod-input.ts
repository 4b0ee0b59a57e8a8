// What a node receives for the OpenAI routes: the request reduced to the fields pod runtimes read, with
// OpenAI's alternatives (content parts, null, a stop string) already normalised. It stays an OpenAI
// body: the node checks it against the same schema (compute/miner/job-input.ts).
import { FatalError } from '../../protocol/errors.ts';
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  choicesOf,
  type EmbeddingRequest,
  inputsOf,
  podMessages,
  samplingFields,
} from '../../protocol/openai.ts';
import { podTools } from '../../protocol/openai-tools.ts';

/** The node's input and how many choices it must return (`n`). */
export function chatInput(request: ChatCompletionRequest): { input: unknown; count: number } {
  const format = request.response_format;
  const n = streamedChoices(request);
  const input = {
    ...samplingFields(request),
    messages: podMessages(request.messages),
    ...(format == null || format.type === 'text' ? {} : { response_format: format }),
    ...podTools(request.tools, request.tool_choice),
    ...(n === 1 ? {} : { n }),
  };
  return { input, count: n };
}

/** `n`, refused above 1 on a stream: a stream carries one choice. */
function streamedChoices(request: {
  n?: number | null | undefined;
  stream?: boolean | null | undefined;
}): number {
  const n = choicesOf(request);
  if (n > 1 && request.stream === true) {
    throw new FatalError('unsupported_parameter', {
      message: 'a streamed answer has one choice: n above 1 is served without stream',
      param: 'n',
    });
  }
  return n;
}

/**
 * The node's input and how many choices it must return (`n` per prompt, prompt by prompt); a streamed
 * completion takes one prompt.
 */
export function completionInput(request: CompletionRequest): { input: unknown; count: number } {
  const prompts = inputsOf(request.prompt);
  if (request.stream === true && prompts.length !== 1) {
    throw new FatalError('unsupported_parameter', {
      message: 'a streamed completion takes exactly one prompt',
      param: 'prompt',
    });
  }
  const prompt = prompts.length === 1 ? prompts[0] : prompts;
  const n = streamedChoices(request);
  return {
    input: { ...samplingFields(request), prompt, ...(n === 1 ? {} : { n }) },
    count: prompts.length * n,
  };
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
