import type {
  ChatRequest,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResult,
  EmbedOptions,
  GenerateOptions,
  GenerationResult,
} from './types.ts';

/** The LLM runtimes a miner can host a pod with (see PodSpec.runtime). */
export type LlmRuntimeKind = 'llama-cpp' | 'openai-upstream';

export interface PodRuntimeInfo {
  readonly runtime: LlmRuntimeKind;
  /** The model this runtime serves. */
  readonly model: string;
  /** Tokens one job may use (prompt + completion); null when the upstream does not say. */
  readonly contextSize: number | null;
  /** Loaded and ready: a job starts without loading anything first. */
  readonly warm: boolean;
  /** Jobs that can run at once; further jobs wait for a free slot. */
  readonly slots: number;
  /** Jobs running now. */
  readonly activeJobs: number;
  /** The size of the model's embeddings, when known before embedding (loaded llama-cpp); else null. */
  readonly embeddingSize: number | null;
}

/**
 * An LLM pod as the miner drives it. Requests are validated here (bad ones throw PodBadRequestError);
 * every failure is a PodError with a stable code and a `retryable` flag. Aborting a job's signal stops
 * generation, frees its slot and rejects with PodAbortedError.
 */
export interface PodRuntime {
  /** Loads the model or checks the upstream; idempotent, concurrent calls share one load. */
  load(signal?: AbortSignal): Promise<void>;
  /** Stops running jobs (they reject with PodNotLoadedError) and frees memory; idempotent. */
  unload(): Promise<void>;
  info(): PodRuntimeInfo;
  chat(request: ChatRequest, options?: GenerateOptions): Promise<GenerationResult>;
  complete(request: CompletionRequest, options?: GenerateOptions): Promise<GenerationResult>;
  embed(request: EmbeddingRequest, options?: EmbedOptions): Promise<EmbeddingResult>;
}
