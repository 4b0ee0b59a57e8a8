// What a node receives for the OpenAI routes: the request reduced to the fields pod runtimes read, with
// OpenAI's alternatives (content parts, null, a stop string) already normalised. It stays an OpenAI
// body: the node checks it against the same schema (compute/miner/job-input.ts).
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  candidatesOf,
  chatLogprobsFields,
  choicesOf,
  completionEchoField,
  completionLogprobsFields,
  completionSuffixField,
  type EmbeddingRequest,
  inputsOf,
  podMessages,
  samplingFields,
} from '../../protocol/openai.ts';
import { podTools } from '../../protocol/openai-tools.ts';
import { bestOf } from './best-of.ts';
import { checkEchoParts, type GenerationChoice } from './pod-output.ts';

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

/** What a completion's answer makes of the choices a node wrote. */
export interface CompletionAnswer {
  /** The choices the caller gets, in order: with best_of the likeliest, with echo each after its prompt. */
  choices(written: GenerationChoice[]): GenerationChoice[];
  /** Checks the written choices carry what echo asks of the node (prompts scored, ids spelled), only that. */
  check(written: readonly GenerationChoice[]): void;
  /** The prompt (its place in the request) an answered choice, by its index, belongs to. */
  promptOf(index: number): number;
  /** With echo: the prompt a choice (by its index) is written after; undefined for token ids (the node's). */
  echoOf?: (index: number) => string | undefined;
}

/**
 * The node's input and how many choices it must return (`best_of`, else `n`, per prompt, prompt by
 * prompt), and what the answer makes of them.
 */
export function completionInput(request: CompletionRequest): {
  input: unknown;
  count: number;
  /** Whether the node writes the answer's log probabilities (asked, or for best_of to rank by). */
  nodeLogprobs: boolean;
  answer: CompletionAnswer;
} {
  const prompts = inputsOf(request.prompt);
  const n = choicesOf(request);
  const candidates = candidatesOf(request);
  const prompt = prompts.length === 1 ? prompts[0] : prompts;
  // best_of ranks by the tokens' log probabilities: the node is asked for them, alternatives only if asked.
  const logprobs =
    candidates > n && request.logprobs == null ? { logprobs: 0 } : completionLogprobsFields(request);
  const keep = request.logprobs != null;
  const echo = request.echo === true;
  const asTokens = (prompt: number) => typeof prompts[prompt] !== 'string';
  // The node scores the prompt when it has echo and writes log probabilities (also best_of's, to rank
  // by), and writes the text of a prompt of token ids: it is told of echo only when one of those is
  // wanted, or for a budget of no tokens.
  const nodeEcho = echo && (keep || request.max_tokens === 0 || prompts.some((_, p) => asTokens(p)));
  const input = {
    ...samplingFields(request),
    ...logprobs,
    prompt,
    ...completionSuffixField(request),
    ...(nodeEcho ? completionEchoField(request) : {}),
    ...(candidates === 1 ? {} : { n: candidates }),
  };
  const nodeScores = nodeEcho && 'logprobs' in logprobs;
  const promptOf = (index: number) => Math.floor(index / n);
  // The prompt a choice is written after: the caller's text; for token ids, the node's (undefined here).
  const echoOf = (index: number) => {
    const given = prompts[promptOf(index)];
    return typeof given === 'string' ? given : undefined;
  };
  const answer: CompletionAnswer = {
    choices: (written) => {
      const picked = candidates === n ? written : bestOf(written, candidates, n, keep);
      return picked.map(({ promptLogprobs: _, promptText: __, ...choice }, index) => {
        if (!echo) return choice;
        const first = written[promptOf(index) * candidates];
        const text = echoOf(index) ?? first?.promptText ?? '';
        const entries = keep ? first?.promptLogprobs : undefined;
        return { ...choice, echo: { text, ...(entries === undefined ? {} : { logprobs: entries }) } };
      });
    },
    check: (written) =>
      checkEchoParts(written, candidates, {
        scored: nodeScores,
        textOf: (p) => nodeEcho && asTokens(p),
      }),
    promptOf,
    ...(echo ? { echoOf } : {}),
  };
  return { input, count: prompts.length * candidates, nodeLogprobs: 'logprobs' in logprobs, answer };
}

/** The node's input and how many vectors it must return. */
export function embeddingInput(request: EmbeddingRequest): { input: unknown; count: number } {
  const inputs = inputsOf(request.input);
  // `dimensions`: a Matryoshka model's pod answers fewer than its size; any pod answers its own.
  const dimensions = request.dimensions === undefined ? {} : { dimensions: request.dimensions };
  return { input: { model: request.model, input: request.input, ...dimensions }, count: inputs.length };
}
