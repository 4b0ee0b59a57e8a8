// What a node receives for the OpenAI routes: the request reduced to the fields pod runtimes read, with
// OpenAI's alternatives (content parts, null, a stop string) already normalised.
import { FatalError } from '../../protocol/errors.ts';
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  contentText,
  type EmbeddingRequest,
  inputsOf,
  maxTokensOf,
  stopSequences,
} from '../../protocol/openai.ts';

function sampling(request: ChatCompletionRequest | CompletionRequest, maxTokens: number | undefined) {
  const stop = stopSequences(request.stop);
  return {
    model: request.model,
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
    ...(request.temperature == null ? {} : { temperature: request.temperature }),
    ...(request.top_p == null ? {} : { top_p: request.top_p }),
    ...(request.seed == null ? {} : { seed: request.seed }),
    ...(stop.length === 0 ? {} : { stop }),
  };
}

export function chatInput(request: ChatCompletionRequest): { input: unknown; count: number } {
  const input = {
    ...sampling(
      request,
      maxTokensOf({
        max_tokens: request.max_tokens ?? null,
        max_completion_tokens: request.max_completion_tokens ?? null,
      }),
    ),
    messages: request.messages.map((m) => ({ role: m.role, content: contentText(m.content) })),
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
  return { input: { ...sampling(request, request.max_tokens ?? undefined), prompt }, count: prompts.length };
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
