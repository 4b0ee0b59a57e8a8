// The `llama-cpp` runtime: a GGUF file served in-process by llama.cpp (node-llama-cpp).
import { basename } from 'node:path';
import {
  type ChatWrapper,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  type LlamaModel,
  LlamaText,
  resolveChatWrapper,
  type Token,
} from 'node-llama-cpp';
import { readGgufHeader } from '../model/gguf-header.ts';
import type { ChatTemplateName } from './chat-templates.ts';
import {
  asPodError,
  PodAbortedError,
  PodBadRequestError,
  PodLoadFailedError,
  PodNotLoadedError,
  PodUnsupportedError,
  throwIfAborted,
} from './errors.ts';
import { JobTracker } from './job-tracker.ts';
import { chatContextState } from './llama-chat-prompt.ts';
import { sharedPrefix } from './llama-generation.ts';
import { LlamaGrammars } from './llama-grammar.ts';
import { infillTokens } from './llama-infill.ts';
import { sharedLlama } from './llama-instance.ts';
import { checkLogitBias } from './llama-logit-bias.ts';
import { estimateLlamaMemory, type LlamaMemoryEstimate, slotContextSize } from './llama-memory.ts';
import { type GenerationExtras, generateOn } from './llama-slot-job.ts';
import { checkedTokenIds } from './llama-token-ids.ts';
import { type CallSyntax, callSyntaxOf } from './llama-tool-calls.ts';
import { splitTriggers } from './llama-triggers.ts';
import { answerRoom, fitToContext } from './message-truncation.ts';
import type { PodRuntime, PodRuntimeInfo } from './runtime.ts';
import { SlotPool } from './slot-pool.ts';
import {
  type ChatRequest,
  type CompletionRequest,
  type EmbeddingRequest,
  type EmbeddingResult,
  type EmbedOptions,
  type GenerateOptions,
  type GenerationResult,
  type NormalizedMessage,
  parseChatRequest,
  parseCompletionRequest,
  parseEmbeddingRequest,
  type SamplingParams,
} from './types.ts';

export interface LlamaCppRuntimeOptions {
  readonly modelPath: string;
  /** Reported in info() and results; defaults to the GGUF's general.name, else the file name. */
  readonly modelName?: string;
  /** Jobs that run at once (context sequences evaluated in shared batches). Default 2. */
  readonly slots?: number;
  /** Tokens per job, prompt and completion together. Default: the model's training context, at most 4096. */
  readonly contextSize?: number;
  /** CPU threads. Default 1: on small machines llama.cpp's default thread count ran ~1000x slower. */
  readonly threads?: number;
  /** 'auto' offloads to a GPU when the machine has one; false keeps to the CPU. Default false. */
  readonly gpu?: false | 'auto';
  /** Offer embed(); its context is created on first use. Default true. */
  readonly embeddings?: boolean;
  /** Default false: plain attention, whose numbers a validator's forward pass reproduces closely. */
  readonly flashAttention?: boolean;
  /**
   * The chat template (and its tool call syntax), by node-llama-cpp's name for it. Default: the one
   * node-llama-cpp recognises from the GGUF's metadata, ChatML when it recognises none.
   */
  readonly chatTemplate?: ChatTemplateName;
  /**
   * A Jinja chat template's text, used as if the GGUF file carried it (node-llama-cpp may still prompt
   * with one of its own templates when this one renders the same); not with `chatTemplate`.
   */
  readonly chatTemplateJinja?: string;
  /** A chat template of one's own (tests, library use); wins over `chatTemplate`. */
  readonly chatWrapper?: ChatWrapper;
  /**
   * Default true: a job takes the free slot whose context begins as its prompt does and keeps that part
   * (llama.cpp's KV cache), so a conversation's next turn, or a prompt sharing a long system message,
   * evaluates only what is new. False: every prompt is evaluated from an empty context, so a seeded job
   * repeats bit for bit (a pod validated by re-execution).
   */
  readonly promptCache?: boolean;
}

interface Loaded {
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  readonly pool: SlotPool<LlamaContextSequence>;
  readonly chatWrapper: ChatWrapper;
  readonly callSyntax: CallSyntax;
  readonly grammars: LlamaGrammars;
  readonly name: string;
  embedding?: Promise<LlamaEmbeddingContext>;
}

function checkPositiveInt(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new RangeError(`${name} must be a positive integer`);
  }
}

export class LlamaCppRuntime implements PodRuntime {
  private readonly options: LlamaCppRuntimeOptions;
  private readonly jobs = new JobTracker();
  private loaded: Loaded | undefined;
  private loading: Promise<Loaded> | undefined;

  constructor(options: LlamaCppRuntimeOptions) {
    if (options.chatTemplate !== undefined && options.chatTemplateJinja !== undefined) {
      throw new RangeError('chatTemplate and chatTemplateJinja both name a chat template: give one');
    }
    checkPositiveInt('slots', options.slots);
    checkPositiveInt('contextSize', options.contextSize);
    checkPositiveInt('threads', options.threads);
    this.options = options;
  }

  info(): PodRuntimeInfo {
    return {
      runtime: 'llama-cpp',
      model: this.loaded?.name ?? this.options.modelName ?? basename(this.options.modelPath, '.gguf'),
      contextSize: this.loaded?.context.contextSize ?? null,
      warm: this.loaded !== undefined,
      slots: this.options.slots ?? 2,
      activeJobs: this.jobs.active,
      embeddingSize: this.loaded?.model.embeddingVectorSize ?? null,
    };
  }

  /**
   * What the loaded pod will hold (weights, the slots' KV cache, the embedding context), estimated from
   * the GGUF's metadata without loading it; a node's memory budget counts pods by it.
   */
  estimateMemory(): Promise<LlamaMemoryEstimate> {
    const { modelPath, gpu, threads, slots, flashAttention } = this.settings;
    return sharedLlama({ gpu, maxThreads: threads })
      .then((llama) =>
        estimateLlamaMemory({
          modelPath,
          llama,
          gpu: gpu !== false && llama.gpu !== false,
          slots,
          contextSize: this.options.contextSize,
          flashAttention,
          embeddings: this.options.embeddings ?? true,
        }),
      )
      .catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        throw new PodLoadFailedError(`Cannot read ${basename(modelPath)}: ${reason}`, { cause: error });
      });
  }

  async load(signal?: AbortSignal): Promise<void> {
    if (this.loaded !== undefined) return;
    this.loading ??= this.bringUp(signal).finally(() => {
      this.loading = undefined;
    });
    this.loaded = await this.loading;
  }

  /** The options the loaded pod is made with, defaults filled in (load and memory estimate alike). */
  private get settings() {
    const { modelPath, gpu = false, threads = 1, slots = 2, flashAttention = false } = this.options;
    return { modelPath, gpu, threads, slots, flashAttention };
  }

  private async bringUp(signal: AbortSignal | undefined): Promise<Loaded> {
    const { modelPath, gpu, threads, slots, flashAttention } = this.settings;
    let model: LlamaModel | undefined;
    try {
      throwIfAborted(signal);
      // A corrupt header can hang the GGUF parsers; refuse it before they see it.
      await readGgufHeader(modelPath);
      const llama = await sharedLlama({ gpu, maxThreads: threads });
      model = await llama.loadModel({
        modelPath,
        gpuLayers: gpu === false ? 0 : 'auto',
        ...(signal === undefined ? {} : { loadSignal: signal }),
      });
      const contextSize = slotContextSize(this.options.contextSize, model.trainContextSize);
      const context = await model.createContext({
        sequences: slots,
        contextSize,
        threads,
        flashAttention,
        ...(signal === undefined ? {} : { createSignal: signal }),
      });
      const sequences = Array.from({ length: slots }, () => context.getSequence());
      const chatWrapper = this.options.chatWrapper ?? this.chatWrapperFor(model);
      const name =
        this.options.modelName ?? model.fileInfo.metadata.general?.name ?? basename(modelPath, '.gguf');
      return {
        model,
        context,
        pool: new SlotPool(sequences),
        chatWrapper,
        callSyntax: callSyntaxOf(chatWrapper, model),
        grammars: new LlamaGrammars(llama),
        name,
      };
    } catch (error) {
      await model?.dispose();
      if (signal?.aborted) throw new PodAbortedError('Model load aborted', { cause: error });
      const reason = error instanceof Error ? error.message : String(error);
      throw new PodLoadFailedError(`Cannot load ${basename(modelPath)}: ${reason}`, { cause: error });
    }
  }

  async unload(): Promise<void> {
    await this.loading?.catch(() => undefined);
    const loaded = this.loaded;
    if (loaded === undefined) return;
    this.loaded = undefined;
    const reason = new PodNotLoadedError('Pod runtime was unloaded during the job');
    loaded.pool.close(reason);
    await this.jobs.stopAll(reason);
    await (await loaded.embedding?.catch(() => undefined))?.dispose();
    await loaded.context.dispose();
    await loaded.model.dispose();
  }

  async chat(request: ChatRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const parsed = parseChatRequest(request);
    const { messages, sampling } = parsed;
    // With 'none' the model is not told of tools it may not call: it could only try and fail.
    const tools = parsed.tools?.choice === 'none' ? undefined : parsed.tools;
    const loaded = this.ready();
    const promptOf = (kept: readonly NormalizedMessage[]) => {
      const state = chatContextState(loaded.chatWrapper, kept, tools);
      // Message text is tokenized as plain text: a user cannot smuggle in control tokens.
      return { ...state, tokens: state.contextText.tokenize(loaded.model.tokenizer) };
    };
    let prompt = promptOf(messages);
    let truncated = 0;
    const { contextSize } = loaded.context;
    const room = answerRoom(sampling.maxTokens, contextSize);
    // Only a conversation that does not fit is made again without its oldest messages.
    if (parsed.truncation === 'auto' && prompt.tokens.length + room > contextSize) {
      const fitted = fitToContext(messages, (kept) => promptOf(kept).tokens.length, room, contextSize);
      truncated = fitted.truncated;
      if (truncated > 0) prompt = promptOf(fitted.messages);
    }
    const { stopGenerationTriggers, tokens: promptTokens } = prompt;
    const format = sampling.responseFormat;
    const grammar = format === undefined ? undefined : await loaded.grammars.grammarFor(format);
    // A grammar's own triggers (e.g. a run of newlines a JSON grammar allows) end the answer too.
    // Plain-text triggers join the stop strings; the rest match as tokens.
    const triggers = splitTriggers(loaded.model, [
      ...stopGenerationTriggers,
      ...(grammar?.stopGenerationTriggers ?? []).map((trigger) => LlamaText(trigger)),
    ]);
    return this.generate(
      loaded,
      promptTokens,
      { ...sampling, stop: [...sampling.stop, ...triggers.text] },
      options,
      { stopTokens: triggers.tokens, grammar, promptParam: 'messages', tools, truncated },
    );
  }

  async complete(request: CompletionRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { prompt, suffix, sampling, promptLogprobs, echo } = parseCompletionRequest(request);
    const loaded = this.ready();
    const { model } = loaded;
    // Token ids are the caller's own tokenization, taken as they are (BOS too, when it is there).
    const given = typeof prompt === 'string' ? undefined : checkedTokenIds(model, prompt, 'prompt');
    const { bos: bosToken, shouldPrependBosToken } = model.tokens;
    const bos = given === undefined && shouldPrependBosToken && bosToken !== null ? [bosToken] : [];
    // Raw prompts may spell special tokens (as llama.cpp's server and vLLM allow), e.g. a hand-written
    // template.
    const text = given ?? model.tokenize(prompt as string, true);
    const promptTokens = [...bos, ...(suffix === undefined ? text : infillTokens(model, text, suffix))];
    // Echoed, ids are answered one for one, as sent (a BOS the caller sent too, with nothing before it);
    // text is answered as written, after the BOS added here.
    const context = bos.length;
    return this.generate(loaded, promptTokens, sampling, options, {
      promptParam: 'prompt',
      ...(promptLogprobs === undefined ? {} : { scorePrompt: { top: promptLogprobs, context } }),
      ...(echo && given !== undefined ? { promptText: model.detokenize(promptTokens, true) } : {}),
    });
  }

  async embed(request: EmbeddingRequest, options: EmbedOptions = {}): Promise<EmbeddingResult> {
    const { inputs } = parseEmbeddingRequest(request);
    const loaded = this.ready();
    if (this.options.embeddings === false)
      throw new PodUnsupportedError('Embeddings are disabled for this pod');
    const checked = inputs.map((input, index) =>
      typeof input === 'string'
        ? input
        : checkedTokenIds(loaded.model, input, inputs.length === 1 ? 'input' : `input[${index}]`),
    );
    return this.jobs.run(options.signal, async (signal) => {
      try {
        const context = await this.embeddingContext(loaded);
        const vectors: number[][] = [];
        let promptTokens = 0;
        for (const [index, input] of checked.entries()) {
          throwIfAborted(signal);
          const length = context.calculateInputLength(input);
          if (length >= loaded.context.contextSize) {
            throw new PodBadRequestError(`input[${index}] has ${length} tokens; the context holds fewer`, {
              param: `input[${index}]`,
            });
          }
          const { vector } = await context.getEmbeddingFor(input);
          vectors.push(normalize(vector));
          promptTokens += length;
        }
        throwIfAborted(signal);
        return { model: loaded.name, vectors, usage: { promptTokens } };
      } catch (error) {
        throw asPodError(error, 'Embedding failed');
      }
    });
  }

  private chatWrapperFor(model: LlamaModel): ChatWrapper {
    const { chatTemplate, chatTemplateJinja } = this.options;
    if (chatTemplateJinja === undefined) return resolveChatWrapper(model, { type: chatTemplate ?? 'auto' });
    return resolveChatWrapper(model, {
      type: 'auto',
      customWrapperSettings: { jinjaTemplate: { template: chatTemplateJinja } },
      // A template the operator chose that fails is an error to see, not a reason to prompt otherwise.
      fallbackToOtherWrappersOnJinjaError: false,
    });
  }

  private ready(): Loaded {
    if (this.loaded === undefined) throw new PodNotLoadedError();
    return this.loaded;
  }

  private embeddingContext(loaded: Loaded): Promise<LlamaEmbeddingContext> {
    loaded.embedding ??= loaded.model.createEmbeddingContext({
      contextSize: loaded.context.contextSize,
      threads: this.options.threads ?? 1,
    });
    return loaded.embedding;
  }

  private generate(
    loaded: Loaded,
    promptTokens: Token[],
    sampling: SamplingParams,
    options: GenerateOptions,
    extra: GenerationExtras,
  ): Promise<GenerationResult> {
    checkLogitBias(loaded.model, sampling.logitBias);
    const reuse = this.options.promptCache !== false;
    const prefer = reuse ? (sequence: LlamaContextSequence) => slotScore(sequence, promptTokens) : undefined;
    return this.jobs.run(options.signal, (signal) =>
      loaded.pool.run(
        signal,
        (sequence) =>
          generateOn(
            sequence,
            loaded,
            {
              promptTokens,
              sampling,
              signal,
              onDelta: options.onDelta,
              onToolCall: options.onToolCall,
              onPromptLogprobs: options.onPromptLogprobs,
              onPromptText: options.onPromptText,
              reuse,
            },
            extra,
          ),
        prefer,
      ),
    );
  }
}

/**
 * How much a job gains from a free slot: the tokens it keeps, where they are at least half of what the
 * slot holds (an empty slot scores 0). Otherwise taking it throws away another conversation's cache for
 * a few shared tokens (a template's opening): then the slot that holds least is the one to give up.
 */
function slotScore(sequence: LlamaContextSequence, promptTokens: Token[]): number {
  const shared = sharedPrefix(sequence, promptTokens);
  const held = sequence.nextTokenIndex;
  return shared * 2 >= held ? shared : -held - 1;
}

/** OpenAI's embeddings are unit length, so a dot product is the cosine similarity. */
function normalize(vector: readonly number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return norm === 0 ? [...vector] : vector.map((x) => x / norm);
}
