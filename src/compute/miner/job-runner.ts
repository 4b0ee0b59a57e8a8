// One attempt of a job on a pod: run the runtime, stream the deltas, meter, and sign the receipt.
import { performance } from 'node:perf_hooks';
import type { LocalAccount } from 'viem';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import {
  createError,
  FatalError,
  isNeurinoError,
  type NeurinoError,
  RetryableError,
} from '../../protocol/errors.ts';
import { receiptFor } from '../../protocol/job-receipt.ts';
import {
  type JobAssign,
  type JobResult,
  MAX_CHUNK_CHARS,
  MAX_CHUNK_LOGPROBS,
  type StreamPiece,
  type ToolCallDelta,
} from '../../protocol/messages/jobs.ts';
import type { PromptTokenLogprobOut, TokenLogprobOut } from '../../protocol/openai-logprobs.ts';
import { resultHash, signReceipt } from '../../protocol/receipt.ts';
import { computeUnits } from '../../protocol/units.ts';
import { type PartialGeneration, PodAbortedError } from '../pods/errors.ts';
import type { PodRuntime } from '../pods/runtime.ts';
import type {
  ChatRequest,
  CompletionRequest,
  GenerateOptions,
  GenerationResult,
  PromptTokenLogprob,
  TokenLogprob,
} from '../pods/types.ts';
import type { JobWork } from './job-input.ts';
import type {
  CancelledChoice,
  CancelledChoicesOutput,
  ChatJobOutput,
  CompletionJobOutput,
  EmbeddingsJobOutput,
} from './job-output.ts';
import { isMatryoshka } from './local-pods.ts';
import type { HostedPod } from './pod-host.ts';

export interface RunJobContext {
  readonly account: LocalAccount;
  /** EIP-712 domain of receipts: chain id + Settlement contract. */
  readonly domain: ProtocolDomain;
  /** Called with each streamed piece, already split to fit a `job.chunk`. */
  readonly onChunk?: (piece: StreamPiece) => void;
}

/**
 * The router's cancel when the caller went away (`job.cancel` with `partial`): the caller pays for the
 * work done so far, so a runtime that hands over its partial work (PodAbortedError.partial) is answered
 * with a result of it.
 */
export class PaidCancel extends FatalError {
  override name = 'PaidCancel';
  constructor(message = 'cancelled by the client') {
    super('job_cancelled', { message });
  }
}

interface Produced {
  output:
    | ChatJobOutput
    | CompletionJobOutput
    | EmbeddingsJobOutput
    | { choices: ChatJobOutput[] }
    | CancelledChoice
    | CancelledChoicesOutput;
  inputTokens: number;
  outputTokens: number;
}

/**
 * Runs `work` for `assign` on `pod` and returns the signed `job.result`. Throws a NeurinoError: the
 * runtime's (a PodError with its code and retryable flag) or the signal's reason when it was aborted.
 */
export async function runJob(
  context: RunJobContext,
  pod: HostedPod,
  assign: JobAssign,
  work: JobWork,
  signal: AbortSignal,
): Promise<JobResult> {
  try {
    return await pod.run(signal, async (runtime) => {
      // Timed from here: loading a cold pod is the node's cost, not the caller's.
      const startedAt = Date.now();
      const started = performance.now();
      // A paid cancel ends it early with the partial output, metered to here like any other.
      const produced = await produce(runtime, work, signal, context.onChunk, isMatryoshka(pod.spec));
      const gpuMs = Math.max(1, Math.ceil(performance.now() - started));
      const finishedAt = Math.max(Date.now(), startedAt);
      const metering = {
        attemptId: assign.attemptId,
        usage: { inputTokens: produced.inputTokens, outputTokens: produced.outputTokens },
        gpuMs,
        vramMiB: pod.memoryMiB,
        computeUnits: computeUnits(gpuMs, pod.memoryMiB),
        resultHash: resultHash(produced.output),
        startedAt,
        finishedAt,
      };
      const receipt = receiptFor(assign, metering, context.account.address);
      // Signs the digest from the dedicated encoder (raw-hash signing), not viem's generic typed data.
      const signature = await signReceipt(context.account, context.domain, receipt);
      return { type: 'job.result', ...metering, output: produced.output, signature };
    });
  } catch (error) {
    throw failure(error, signal);
  }
}

async function produce(
  runtime: PodRuntime,
  work: JobWork,
  signal: AbortSignal,
  onChunk: ((piece: StreamPiece) => void) | undefined,
  matryoshka: boolean,
): Promise<Produced> {
  // A choice's pieces name it: `n` per prompt, prompt by prompt, as the output's choices.
  const options = (index: number): GenerateOptions => {
    if (onChunk === undefined) return { signal };
    const choice = index === 0 ? {} : { choice: index };
    return {
      signal,
      onDelta: (text: string, logprobs?: readonly TokenLogprob[]) =>
        splitChunks(
          text,
          (delta, entries) =>
            onChunk({ delta, ...(entries === undefined ? {} : { logprobs: entries }), ...choice }),
          logprobs?.map(logprobEntry),
        ),
      onToolCall: (call) => splitCallPiece(call, (toolCall) => onChunk({ delta: '', toolCall, ...choice })),
      onPromptText: (text) =>
        splitChunks(text, (promptText) => onChunk({ delta: '', promptText, ...choice })),
      onPromptLogprobs: (entries) => {
        for (let at = 0; at < entries.length; at += MAX_CHUNK_LOGPROBS) {
          const promptLogprobs = entries.slice(at, at + MAX_CHUNK_LOGPROBS).map(promptLogprobEntry);
          onChunk({ delta: '', promptLogprobs, ...choice });
        }
      },
    };
  };
  switch (work.kind) {
    case 'chat': {
      const chat = (request: ChatRequest, index: number) => runtime.chat(request, options(index));
      const { choices, cached, ...tokens } = await eachChoice(work.requests, work.n, signal, chat, choice);
      // One choice keeps the single-answer shape; `n` of them come as a list.
      const [only] = choices;
      const output = choices.length === 1 && only !== undefined ? only : { choices };
      return { output: { ...output, ...cached }, ...tokens };
    }
    case 'completion': {
      const complete = (request: CompletionRequest, index: number) =>
        runtime.complete(request, options(index));
      const { choices, cached, ...tokens } = await eachChoice(
        work.requests,
        work.n,
        signal,
        complete,
        completionChoice,
      );
      return { output: { choices, ...cached }, ...tokens };
    }
    case 'embeddings': {
      // A size the model cannot answer is refused before the node does the work.
      const known = runtime.info().embeddingSize;
      if (known !== null) checkDimensions(known, work.dimensions, matryoshka);
      const result = await runtime.embed(work.request, { signal });
      if (result.vectors.some((vector) => vector.some((x) => !Number.isFinite(x)))) {
        throw new RetryableError('node_failed', { message: 'the model produced a non-finite embedding' });
      }
      return {
        output: { embeddings: sized(result.vectors, work.dimensions, matryoshka) },
        inputTokens: result.usage?.promptTokens ?? 0,
        outputTokens: 0,
      };
    }
  }
}

/**
 * Runs one request per choice, in order. Prompt tokens are counted once per prompt (its `n` choices
 * share it, as OpenAI counts them). A paid cancel keeps the choices done and the one it stopped, and starts
 * no more.
 */
async function eachChoice<R, C>(
  requests: readonly R[],
  n: number,
  signal: AbortSignal,
  generate: (request: R, index: number) => Promise<GenerationResult>,
  choiceOf: (result: GenerationResult) => C,
): Promise<{
  choices: Array<C | CancelledChoice>;
  inputTokens: number;
  outputTokens: number;
  /** The output's `cachedPromptTokens`, when any. */
  cached: { cachedPromptTokens?: number };
}> {
  const choices: Array<C | CancelledChoice> = [];
  let inputTokens = 0;
  let outputTokens = 0;
  let cachedPromptTokens = 0;
  for (const [index, request] of requests.entries()) {
    const firstOfPrompt = index % n === 0;
    try {
      const result = await generate(request, index);
      choices.push(choiceOf(result));
      if (firstOfPrompt) {
        inputTokens += result.usage?.promptTokens ?? 0;
        cachedPromptTokens += result.usage?.cachedPromptTokens ?? 0;
      }
      outputTokens += result.usage?.completionTokens ?? 0;
    } catch (error) {
      const partial = paidPartial(error, signal);
      if (partial === undefined) throw error;
      choices.push(partialChoice(partial));
      if (firstOfPrompt) {
        inputTokens += partial.usage.promptTokens;
        cachedPromptTokens += partial.usage.cachedPromptTokens ?? 0;
      }
      outputTokens += partial.usage.completionTokens;
      break;
    }
  }
  return { choices, inputTokens, outputTokens, cached: cachedPromptTokens > 0 ? { cachedPromptTokens } : {} };
}

function choice(result: GenerationResult): ChatJobOutput {
  return {
    text: result.text,
    finishReason: result.finishReason,
    ...(result.completionTokenIds === undefined ? {} : { tokenIds: [...result.completionTokenIds] }),
    ...(result.toolCalls === undefined || result.toolCalls.length === 0
      ? {}
      : {
          toolCalls: result.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })),
        }),
    ...(result.logprobs === undefined ? {} : { logprobs: result.logprobs.map(logprobEntry) }),
    ...(result.truncatedMessages === undefined ? {} : { truncatedMessages: result.truncatedMessages }),
  };
}

/** A logprobs entry as the output carries it: plain arrays, nothing else the runtime kept. */
function logprobEntry(entry: TokenLogprob): TokenLogprobOut {
  return {
    token: entry.token,
    logprob: entry.logprob,
    bytes: [...entry.bytes],
    top: entry.top.map(({ token, logprob, bytes }) => ({ token, logprob, bytes: [...bytes] })),
  };
}

/** A prompt's choice: text only (completions offer no tools), its prompt scored when echo asked. */
function completionChoice(result: GenerationResult): CompletionJobOutput['choices'][number] {
  const { toolCalls: _, ...text } = choice(result);
  return {
    ...text,
    finishReason: result.finishReason === 'length' ? 'length' : 'stop',
    ...(result.promptLogprobs === undefined
      ? {}
      : { promptLogprobs: result.promptLogprobs.map(promptLogprobEntry) }),
    ...(result.promptText === undefined ? {} : { promptText: result.promptText }),
  };
}

function promptLogprobEntry(entry: PromptTokenLogprob): PromptTokenLogprobOut {
  if (entry.logprob === null)
    return { token: entry.token, logprob: null, bytes: [...entry.bytes], top: null };
  return logprobEntry(entry);
}

/** The work a paid cancel stopped, when the runtime handed it over (others just abort). */
function paidPartial(error: unknown, signal: AbortSignal): PartialGeneration | undefined {
  if (!(signal.reason instanceof PaidCancel) || !(error instanceof PodAbortedError)) return undefined;
  return error.partial;
}

function partialChoice(partial: PartialGeneration): CancelledChoice {
  const { text, completionTokenIds, truncatedMessages } = partial;
  return {
    text,
    finishReason: 'cancelled',
    ...(completionTokenIds === undefined ? {} : { tokenIds: [...completionTokenIds] }),
    ...(truncatedMessages === undefined ? {} : { truncatedMessages }),
  };
}

/**
 * Long deltas are split on code point boundaries so each fits a `job.chunk`; log probabilities go with
 * the first piece, those past a chunk's share in pieces of no text after it.
 */
export function splitChunks(
  text: string,
  emit: (delta: string, logprobs?: TokenLogprobOut[]) => void,
  logprobs?: TokenLogprobOut[],
  max = MAX_CHUNK_CHARS,
): void {
  if (text === '' && (logprobs === undefined || logprobs.length === 0)) return;
  const pieces: string[] = [];
  let start = 0;
  while (text.length - start > max) {
    let end = start + max;
    // Never cut a surrogate pair in half: the piece would not be valid UTF-16 text.
    const code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end--;
    pieces.push(text.slice(start, end));
    start = end;
  }
  pieces.push(text.slice(start));
  const [first = '', ...rest] = pieces;
  if (logprobs === undefined) {
    for (const piece of [first, ...rest]) emit(piece);
    return;
  }
  emit(first, logprobs.slice(0, MAX_CHUNK_LOGPROBS));
  for (let at = MAX_CHUNK_LOGPROBS; at < logprobs.length; at += MAX_CHUNK_LOGPROBS) {
    emit('', logprobs.slice(at, at + MAX_CHUNK_LOGPROBS));
  }
  for (const piece of rest) emit(piece, []);
}

/**
 * The vectors at the size asked: as they are when it is theirs; a Matryoshka model's first `dimensions`,
 * normalised again to length 1 (what OpenAI's `dimensions` gives); otherwise refused.
 */
export function sized(vectors: number[][], dimensions: number | undefined, matryoshka: boolean): number[][] {
  const width = vectors[0]?.length ?? 0;
  checkDimensions(width, dimensions, matryoshka);
  if (dimensions === undefined || dimensions === width) return vectors;
  return vectors.map((vector) => {
    const head = vector.slice(0, dimensions);
    const norm = Math.sqrt(head.reduce((sum, x) => sum + x * x, 0));
    return norm === 0 ? head : head.map((x) => x / norm);
  });
}

/** Whether vectors of `width` can be answered at the size asked: their own, or fewer for a Matryoshka model. */
function checkDimensions(width: number, dimensions: number | undefined, matryoshka: boolean): void {
  if (dimensions === undefined || dimensions === width || (matryoshka && dimensions < width)) return;
  const why = matryoshka ? '' : ' (only a Matryoshka model answers fewer, a pod with options.matryoshka)';
  throw createError('unsupported_parameter', {
    message: `this model's embeddings have ${width} dimensions, not ${dimensions}${why}`,
    param: 'dimensions',
  });
}

/** A call's piece split as `splitChunks` splits text: its id and name go with the first part. */
export function splitCallPiece(
  piece: ToolCallDelta,
  emit: (piece: ToolCallDelta) => void,
  max = MAX_CHUNK_CHARS,
): void {
  if (piece.arguments === '') {
    emit(piece);
    return;
  }
  const { arguments: _, ...head } = piece;
  let first = true;
  splitChunks(
    piece.arguments,
    (text) => {
      emit({ ...(first ? head : { index: piece.index }), arguments: text });
      first = false;
    },
    undefined,
    max,
  );
}

/** What the router is told: the abort's own reason when we aborted, else the runtime's error. */
function failure(error: unknown, signal: AbortSignal): NeurinoError {
  if (signal.aborted && isNeurinoError(signal.reason)) return signal.reason;
  if (isNeurinoError(error)) return error;
  return new RetryableError('node_failed', { message: 'the job failed on the node', cause: error });
}
