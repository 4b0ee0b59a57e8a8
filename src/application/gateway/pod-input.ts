// What a node receives for the OpenAI routes: the request reduced to the fields pod runtimes read, with
// OpenAI's alternatives (content parts, null, a stop string) already normalised. It stays an OpenAI
// body: the node checks it against the same schema (compute/miner/job-input.ts).
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  candidatesOf,
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
import { bestOf } from './best-of.ts';
import type { GenerationChoice } from './pod-output.ts';

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

/**
 * The node's input and how many choices it must return (`best_of`, else `n`, per prompt, prompt by
 * prompt); with `best_of`, how to pick the answered ones from them.
 */
export function completionInput(request: CompletionRequest): {
  input: unknown;
  count: number;
  pick?: (choices: GenerationChoice[]) => GenerationChoice[];
} {
  const prompts = inputsOf(request.prompt);
  const n = choicesOf(request);
  const candidates = candidatesOf(request);
  const prompt = prompts.length === 1 ? prompts[0] : prompts;
  // best_of ranks by the tokens' log probabilities: the node is asked for them, alternatives only if asked.
  const logprobs =
    candidates > n && request.logprobs == null ? { logprobs: 0 } : completionLogprobsFields(request);
  const input = {
    ...samplingFields(request),
    ...logprobs,
    prompt,
    ...completionSuffixField(request),
    ...(candidates === 1 ? {} : { n: candidates }),
  };
  const count = prompts.length * candidates;
  if (candidates === n) return { input, count };
  const keep = request.logprobs != null;
  return { input, count, pick: (choices) => bestOf(choices, candidates, n, keep) };
}

/** The node's input and how many vectors it must return. */
export function embeddingInput(request: EmbeddingRequest): { input: unknown; count: number } {
  const inputs = inputsOf(request.input);
  // `dimensions`: a Matryoshka model's pod answers fewer than its size; any pod answers its own.
  const dimensions = request.dimensions === undefined ? {} : { dimensions: request.dimensions };
  return { input: { model: request.model, input: request.input, ...dimensions }, count: inputs.length };
}
