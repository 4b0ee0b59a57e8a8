// What a node receives for the OpenAI routes: the request reduced to the fields pod runtimes read, with
// OpenAI's alternatives (content parts, null, a stop string) already normalised. It stays an OpenAI
// body: the node checks it against the same schema (compute/miner/job-input.ts).
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  chatLogprobsFields,
  choicesOf,
  completionLogprobsFields,
  completionSuffixField,
  type EmbeddingRequest,
  inputsOf,
  podMessages,
  samplingFields,
} from '../../protocol/openai.ts';
import { podTools } from '../../protocol/openai-tools.ts';

/** The node's input and how many choices it must return (`n`). */
export function chatInput(request: ChatCompletionRequest): { input: unknown; count: number } {
  const format = request.response_format;
  const n = choicesOf(request);
  const input = {
    ...samplingFields(request),
    ...chatLogprobsFields(request),
    messages: podMessages(request.messages),
    ...(format == null || format.type === 'text' ? {} : { response_format: format }),
    ...podTools(request),
    ...(request.truncation === 'auto' ? { truncation: 'auto' } : {}),
    ...(n === 1 ? {} : { n }),
  };
  return { input, count: n };
}

/** The node's input and how many choices it must return (`n` per prompt, prompt by prompt). */
export function completionInput(request: CompletionRequest): { input: unknown; count: number } {
  const prompts = inputsOf(request.prompt);
  const n = choicesOf(request);
  const prompt = prompts.length === 1 ? prompts[0] : prompts;
  return {
    input: {
      ...samplingFields(request),
      ...completionLogprobsFields(request),
      prompt,
      ...completionSuffixField(request),
      ...(n === 1 ? {} : { n }),
    },
    count: prompts.length * n,
  };
}

/** The node's input and how many vectors it must return. */
export function embeddingInput(request: EmbeddingRequest): { input: unknown; count: number } {
  const inputs = inputsOf(request.input);
  // `dimensions`: a Matryoshka model's pod answers fewer than its size; any pod answers its own.
  const dimensions = request.dimensions === undefined ? {} : { dimensions: request.dimensions };
  return { input: { model: request.model, input: request.input, ...dimensions }, count: inputs.length };
}
