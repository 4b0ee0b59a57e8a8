// Reads a node's job output for the OpenAI routes, in the shapes the miner documents
// (src/compute/miner/job-output.ts). Checked before the job is charged: an output the gateway cannot turn
// into an answer is the node's fault (bad_result), and the caller pays nothing.
import { type CompletionJobOutput, parseJobOutput } from '../../compute/miner/job-output.ts';
import { RetryableError } from '../../protocol/errors.ts';
import type { PromptTokenLogprobOut, TokenLogprobOut } from '../../protocol/openai-logprobs.ts';
import type { EchoedPrompt, FinishReason, TokenUsage, ToolCallOut } from '../../protocol/openai-responses.ts';

export interface GenerationChoice {
  text: string;
  finishReason: FinishReason;
  /** Chat: the calls the model made instead of (or after) its text. */
  toolCalls?: ToolCallOut[];
  /** When asked: one entry per token of `text`. */
  logprobs?: TokenLogprobOut[];
  /** As the node wrote it (a completion's echo with logprobs, on a prompt's first choice). */
  promptLogprobs?: PromptTokenLogprobOut[];
  /** As the node wrote it (a completion's echo of a prompt of token ids, on a prompt's first choice). */
  promptText?: string;
  /** A completion's echo: the prompt written before `text`, as the answer shows it. */
  echo?: EchoedPrompt;
}

/** The choices in order: `n` per prompt (a chat has one prompt). */
export function generationOutput(kind: 'chat' | 'completion', output: unknown): GenerationChoice[] {
  if (kind === 'chat') {
    const parsed = parseJobOutput('chat', output);
    if (!parsed.ok) throw parsed.error;
    const choices = 'choices' in parsed.value ? parsed.value.choices : [parsed.value];
    return choices.map(({ text, finishReason, toolCalls, logprobs }) => ({
      text,
      finishReason,
      ...(toolCalls === undefined ? {} : { toolCalls }),
      ...(logprobs === undefined ? {} : { logprobs }),
    }));
  }
  const parsed = parseJobOutput('completion', output);
  if (!parsed.ok) throw parsed.error;
  return parsed.value.choices.map((c: CompletionJobOutput['choices'][number]) => ({
    text: c.text,
    finishReason: c.finishReason,
    ...(c.logprobs === undefined ? {} : { logprobs: c.logprobs }),
    ...(c.promptLogprobs === undefined ? {} : { promptLogprobs: c.promptLogprobs }),
    ...(c.promptText === undefined ? {} : { promptText: c.promptText }),
  }));
}

/**
 * What a completion's echo asks of each prompt's first choice (of `perPrompt`): its prompt scored
 * (`promptLogprobs`), its prompt's text when the prompt came as token ids (`promptText`, by prompt); and
 * neither anywhere else.
 */
export function checkEchoParts(
  choices: readonly GenerationChoice[],
  perPrompt: number,
  asked: { scored: boolean; textOf: (prompt: number) => boolean },
): void {
  for (const [index, choice] of choices.entries()) {
    const first = index % perPrompt === 0;
    const prompt = Math.floor(index / perPrompt);
    const parts = [
      ['log probabilities', first && asked.scored, choice.promptLogprobs !== undefined],
      ['text', first && asked.textOf(prompt), choice.promptText !== undefined],
    ] as const;
    for (const [part, wanted, given] of parts) {
      if (wanted === given) continue;
      throw new RetryableError('bad_result', {
        message: wanted
          ? `node returned no ${part} of the prompt of choice ${index}, which echo asked for`
          : `node returned ${part} of a prompt at choice ${index}, which nobody asked for`,
      });
    }
  }
}

/** What an output of any shape says its node's cache held of the prompt (a paid cancel's too); else 0. */
export function cachedTokensSaid(output: unknown): number {
  const said = (output as { cachedPromptTokens?: unknown } | null | undefined)?.cachedPromptTokens;
  return typeof said === 'number' && Number.isInteger(said) && said > 0 ? said : 0;
}

/**
 * The usage to answer with: the receipt's counts, which the node signed, and of its input tokens those the
 * node's cache held, which its output says (at most all of them).
 */
export function answeredUsage(receipt: TokenUsage, cachedInputTokens: number): TokenUsage {
  const cached = Math.min(cachedInputTokens, receipt.inputTokens);
  return cached > 0 ? { ...receipt, cachedInputTokens: cached } : receipt;
}

/**
 * A node must answer the log probabilities a request asked for, and only then: an answer without them
 * answered another request.
 */
export function checkLogprobs(choices: readonly GenerationChoice[], asked: boolean): void {
  if (choices.every((choice) => (choice.logprobs !== undefined) === asked)) return;
  throw new RetryableError('bad_result', {
    message: asked
      ? 'node returned no log probabilities where they were asked for'
      : 'node returned log probabilities nobody asked for',
  });
}

/** One vector per input, in order. */
export function embeddingOutput(output: unknown, expected: number): number[][] {
  const parsed = parseJobOutput('embeddings', output);
  if (!parsed.ok) throw parsed.error;
  const vectors = parsed.value.embeddings;
  if (vectors.length !== expected) {
    throw new RetryableError('bad_result', {
      message: `node returned ${vectors.length} embeddings for ${expected} inputs`,
    });
  }
  return vectors;
}

/** The choices a request expects: a node answering fewer or more prompts answered another request. */
export function checkChoiceCount(choices: readonly GenerationChoice[], expected: number): void {
  if (choices.length !== expected) {
    throw new RetryableError('bad_result', {
      message: `node returned ${choices.length} choices where ${expected} were asked for`,
    });
  }
}

/**
 * The text a node handed over for a paid cancel (one chat choice with finishReason 'cancelled'), read as
 * an answer cut short (`length`); undefined for any other output.
 */
export function stoppedAnswer(output: unknown): GenerationChoice | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  if ((output as { finishReason?: unknown }).finishReason !== 'cancelled') return undefined;
  try {
    return generationOutput('chat', { ...output, finishReason: 'length' })[0];
  } catch {
    return undefined;
  }
}
