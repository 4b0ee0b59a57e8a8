// The `openai-upstream` runtime: relays jobs to an OpenAI-compatible server the operator runs next to
// the miner (vLLM, SGLang, Ollama, llama.cpp's server). Usage comes from the upstream: streams ask for
// it with `stream_options.include_usage`; an upstream that reports none yields `usage: null`. A stream
// or answer stopped part-way reports what it had relayed (see partialUsage), so a caller who walks away
// pays for the time it took, as on any other runtime. Tool calls are relayed in OpenAI's shape both ways:
// the offer and the history's calls go out as sent, the upstream's calls come back as the result's
// `toolCalls` (a stream's pieces assembled, never passed on as text). Log probabilities, when asked, are
// asked of the upstream and come back as the result's `logprobs` (a stream's gathered from its chunks).
import type { z } from 'zod';
import {
  PodLoadFailedError,
  PodNotLoadedError,
  PodUnsupportedError,
  PodUpstreamError,
  stoppedWith,
} from './errors.ts';
import { JobTracker } from './job-tracker.ts';
import {
  ChatResponseWire,
  CompletionResponseWire,
  EmbeddingResponseWire,
  finishReasonOf,
  ModelListWire,
  messagesBody,
  StreamChunkWire,
  StreamedToolCalls,
  samplingBody,
  toolCallsOf,
  toolsBody,
  usageOf,
} from './openai-wire.ts';
import { logprobsBody, logprobsOf } from './openai-wire-logprobs.ts';
import type { PodRuntime, PodRuntimeInfo } from './runtime.ts';
import { SlotPool } from './slot-pool.ts';
import {
  type ChatRequest,
  type CompletionRequest,
  type EmbeddingRequest,
  type EmbeddingResult,
  type EmbedOptions,
  type FinishReason,
  type GenerateOptions,
  type GenerationResult,
  parseChatRequest,
  parseCompletionRequest,
  parseEmbeddingRequest,
  type SamplingParams,
  type TokenLogprob,
  type TokenUsage,
  type ToolCall,
} from './types.ts';
import { UpstreamClient } from './upstream-client.ts';
import { offeredNames, offeredOnly, strayCall } from './upstream-tool-offer.ts';

export interface OpenAIUpstreamRuntimeOptions {
  /** The server's OpenAI base URL, e.g. `http://127.0.0.1:8000/v1`. */
  readonly baseUrl: string;
  /** The model name the upstream serves (checked against its `/models` on load). */
  readonly model: string;
  readonly apiKey?: string;
  /** Jobs relayed at once; the upstream batches them itself. Default 4. */
  readonly slots?: number;
  /** Limit for one request, streaming included. Default 10 minutes. */
  readonly timeoutMs?: number;
  /** Tokens per job, when the upstream does not report it (vLLM's `max_model_len` is read on load). */
  readonly contextSize?: number;
}

const DEFAULT_SLOTS = 4;
const DEFAULT_TIMEOUT_MS = 600_000;

function parseWire<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new PodUpstreamError(`Upstream sent a malformed ${what}: ${parsed.error.issues[0]?.message ?? ''}`, {
    cause: parsed.error,
  });
}

export class OpenAIUpstreamRuntime implements PodRuntime {
  private readonly client: UpstreamClient;
  private readonly slots: number;
  private readonly jobs = new JobTracker();
  private pool: SlotPool<number> | undefined;
  private contextSize: number | null;

  constructor(private readonly options: OpenAIUpstreamRuntimeOptions) {
    if (options.model === '') throw new RangeError('model must not be empty');
    this.slots = options.slots ?? DEFAULT_SLOTS;
    if (!Number.isInteger(this.slots) || this.slots < 1)
      throw new RangeError('slots must be a positive integer');
    this.client = new UpstreamClient({
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    });
    this.contextSize = options.contextSize ?? null;
  }

  info(): PodRuntimeInfo {
    return {
      runtime: 'openai-upstream',
      model: this.options.model,
      contextSize: this.contextSize,
      warm: this.pool !== undefined,
      slots: this.slots,
      activeJobs: this.jobs.active,
      // The server's model decides the size (and whether it answers `dimensions`).
      embeddingSize: null,
    };
  }

  /** Checks that the upstream answers and serves the model. */
  async load(signal?: AbortSignal): Promise<void> {
    if (this.pool !== undefined) return;
    let models: z.output<typeof ModelListWire>;
    try {
      models = parseWire(ModelListWire, await this.client.getJson('models', signal), 'model list');
    } catch (error) {
      if (signal?.aborted) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new PodLoadFailedError(`Upstream ${this.client.safeUrl} is not usable: ${reason}`, {
        cause: error,
      });
    }
    const served = models.data.find((m) => m.id === this.options.model);
    if (served === undefined) {
      const names = models.data.map((m) => m.id).join(', ') || 'none';
      throw new PodLoadFailedError(`Upstream does not serve ${this.options.model} (it serves: ${names})`);
    }
    this.contextSize = this.options.contextSize ?? served.max_model_len ?? null;
    this.pool ??= new SlotPool(Array.from({ length: this.slots }, (_, i) => i));
  }

  /** Stops the jobs, then drops the connections to the upstream (a later load opens new ones). */
  async unload(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined) {
      const reason = new PodNotLoadedError('Pod runtime was unloaded during the job');
      pool.close(reason);
      await this.jobs.stopAll(reason);
    }
    // Also when never loaded: a failed load may have left keep-alive sockets open.
    await this.client.close();
  }

  async chat(request: ChatRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { messages, sampling, tools } = parseChatRequest(request);
    const input = { messages: messagesBody(messages), ...toolsBody(tools) };
    const offered = offeredNames(tools);
    const { onToolCall } = options;
    const relayed =
      onToolCall === undefined ? options : { ...options, onToolCall: offeredOnly(onToolCall, offered) };
    const result = await this.generate('chat/completions', input, sampling, relayed);
    this.checkCalls(result, offered);
    return result;
  }

  /**
   * Calls only of tools the caller offered, and none when it forbade them ('none'): a server that
   * answers otherwise (a model making a name up) failed this job, which another node may serve.
   */
  private checkCalls(result: GenerationResult, offered: readonly string[]): void {
    const stray = strayCall(result, offered);
    if (stray === undefined) return;
    throw new PodUpstreamError(
      `Upstream ${this.client.safeUrl} called the tool ${JSON.stringify(stray.name.slice(0, 64))}, which was not offered`,
    );
  }

  async complete(request: CompletionRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { prompt, suffix, sampling, promptLogprobs, echo } = parseCompletionRequest(request);
    // Servers differ in how they score a prompt (vLLM's prompt_logprobs, llama.cpp's n_probs): not relayed yet.
    if (promptLogprobs !== undefined) {
      throw new PodUnsupportedError('echo with logprobs (the prompt scored) is served by llama-cpp pods', {
        param: 'echo',
      });
    }
    if (echo && typeof prompt !== 'string') {
      throw new PodUnsupportedError('echo of a prompt given as token ids is served by llama-cpp pods', {
        param: 'echo',
      });
    }
    if (sampling.maxTokens === 0) {
      throw new PodUnsupportedError('max_tokens 0 (the prompt alone) is served by llama-cpp pods', {
        param: 'max_tokens',
      });
    }
    // A fill-in-the-middle request goes as OpenAI's suffix (Ollama serves it; a server that cannot refuses).
    const input = suffix === undefined ? { prompt } : { prompt, suffix };
    return this.generate('completions', input, sampling, options);
  }

  async embed(request: EmbeddingRequest, options: EmbedOptions = {}): Promise<EmbeddingResult> {
    const { inputs, dimensions } = parseEmbeddingRequest(request);
    const pool = this.ready();
    return this.jobs.run(options.signal, (signal) =>
      pool.run(signal, async () => {
        // The server answers `dimensions` if its model can (vLLM's Matryoshka models); the miner checks.
        const body = {
          model: this.options.model,
          input: inputs,
          encoding_format: 'float',
          ...(dimensions === undefined ? {} : { dimensions }),
        };
        const wire = parseWire(
          EmbeddingResponseWire,
          await this.client.postJson('embeddings', body, signal),
          'embedding',
        );
        const byIndex = [...wire.data].sort((a, b) => a.index - b.index);
        if (byIndex.length !== inputs.length || byIndex.some((d, i) => d.index !== i)) {
          throw new PodUpstreamError(
            `Upstream returned ${wire.data.length} embeddings for ${inputs.length} inputs`,
          );
        }
        return {
          model: wire.model ?? this.options.model,
          vectors: byIndex.map((d) => d.embedding),
          usage: wire.usage == null ? null : { promptTokens: wire.usage.prompt_tokens },
        };
      }),
    );
  }

  private ready(): SlotPool<number> {
    if (this.pool === undefined) throw new PodNotLoadedError();
    return this.pool;
  }

  private generate(
    path: 'chat/completions' | 'completions',
    input: Record<string, unknown>,
    sampling: SamplingParams,
    options: GenerateOptions,
  ): Promise<GenerationResult> {
    const pool = this.ready();
    const asked = sampling.logprobs;
    const body = {
      model: this.options.model,
      ...input,
      ...samplingBody(sampling),
      ...logprobsBody(path, asked),
    };
    return this.jobs.run(options.signal, (signal) =>
      pool.run(signal, () =>
        options.onDelta === undefined
          ? this.generateWhole(path, body, asked, signal)
          : this.generateStreaming(path, body, asked, signal, options.onDelta, options.onToolCall),
      ),
    );
  }

  private async generateWhole(
    path: string,
    body: object,
    asked: number | undefined,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    let json: unknown;
    try {
      json = await this.client.postJson(path, { ...body, stream: false }, signal);
    } catch (error) {
      // Stopped before the answer came: the time spent is known, what the upstream produced is not.
      if (!signal.aborted) throw error;
      throw stoppedWith(signal, { text: '', usage: { promptTokens: 0, completionTokens: 0 } });
    }
    if (path === 'completions') {
      const wire = parseWire(CompletionResponseWire, json, 'completion');
      const [choice] = wire.choices;
      const result = this.result(
        wire.model,
        choice?.text ?? '',
        finishReasonOf(choice?.finish_reason),
        usageOf(wire.usage),
      );
      return this.withLogprobs(result, asked, asked === undefined ? [] : logprobsOf(choice?.logprobs, asked));
    }
    const wire = parseWire(ChatResponseWire, json, 'chat completion');
    const [choice] = wire.choices;
    const text = choice?.message.content ?? '';
    const toolCalls = toolCallsOf(choice?.message.tool_calls);
    const finish = finishReasonOf(choice?.finish_reason, toolCalls.length);
    const result = this.result(wire.model, text, finish, usageOf(wire.usage), toolCalls);
    return this.withLogprobs(result, asked, asked === undefined ? [] : logprobsOf(choice?.logprobs, asked));
  }

  private async generateStreaming(
    path: string,
    body: object,
    asked: number | undefined,
    signal: AbortSignal,
    onDelta: NonNullable<GenerateOptions['onDelta']>,
    onToolCall: GenerateOptions['onToolCall'],
  ): Promise<GenerationResult> {
    const streamBody = { ...body, stream: true, stream_options: { include_usage: true } };
    let text = '';
    let model: string | undefined;
    let finish: string | null | undefined;
    let usage: TokenUsage | null = null;
    let pieces = 0;
    const calls = new StreamedToolCalls(onToolCall);
    const logprobs: TokenLogprob[] = [];
    let relayed = 0;
    try {
      for await (const json of this.client.postStream(path, streamBody, signal)) {
        const chunk = parseWire(StreamChunkWire, json, 'stream chunk');
        model ??= chunk.model;
        usage = usageOf(chunk.usage) ?? usage;
        const choice = chunk.choices?.[0];
        if (choice === undefined) continue;
        const piece = choice.delta?.content ?? choice.text ?? '';
        const entries = asked === undefined ? [] : logprobsOf(choice.logprobs, asked);
        logprobs.push(...entries);
        if (piece !== '') {
          text += piece;
          pieces += 1;
          // With the piece: those of the chunks before it that came without text, and its own.
          onDelta(piece, asked === undefined ? undefined : logprobs.slice(relayed));
          relayed = logprobs.length;
        }
        pieces += calls.add(choice.delta?.tool_calls ?? []);
        finish = choice.finish_reason ?? finish;
      }
    } catch (error) {
      if (!signal.aborted) throw error;
      throw stoppedWith(signal, { text, usage: partialUsage(usage, pieces) });
    }
    if (finish === undefined || finish === null) {
      throw new PodUpstreamError(
        `Upstream stream from ${this.client.safeUrl} ended before the answer finished`,
      );
    }
    const toolCalls = calls.result();
    const result = this.result(model, text, finishReasonOf(finish, toolCalls.length), usage, toolCalls);
    return this.withLogprobs(result, asked, logprobs);
  }

  /**
   * The log probabilities, when asked, on the result. A text without them fails the job, retryably (another
   * node may serve it): a node must not answer without what was asked. An answer of calls only has no text
   * for them to cover.
   */
  private withLogprobs(
    result: GenerationResult,
    asked: number | undefined,
    logprobs: readonly TokenLogprob[],
  ): GenerationResult {
    if (asked === undefined) return result;
    if (logprobs.length === 0 && result.text !== '') {
      throw new PodUpstreamError(
        `Upstream ${this.client.safeUrl} answered without the log probabilities asked for`,
      );
    }
    return { ...result, logprobs };
  }

  private result(
    model: string | undefined,
    text: string,
    finishReason: FinishReason,
    usage: TokenUsage | null,
    toolCalls: readonly ToolCall[] = [],
  ): GenerationResult {
    return {
      model: model ?? this.options.model,
      text,
      finishReason,
      usage,
      ...(toolCalls.length === 0 ? {} : { toolCalls }),
    };
  }
}

/**
 * The tokens of a stream stopped before the upstream's final usage: the last usage it sent, if it sends
 * one per chunk (vLLM's and SGLang's `continuous_usage_stats`), otherwise one token per relayed piece (of
 * text or of a tool call) and no prompt tokens. A lower bound, as each piece holds at least one token; the
 * price follows the time spent, so only the receipt's counts are short.
 */
function partialUsage(usage: TokenUsage | null, pieces: number) {
  return {
    promptTokens: usage?.promptTokens ?? 0,
    completionTokens: Math.max(usage?.completionTokens ?? 0, pieces),
  };
}
