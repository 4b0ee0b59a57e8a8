// What a llama.cpp pod will hold once loaded, estimated before loading it from the GGUF's metadata: the
// weights, and a KV cache of `contextSize` tokens for each slot with llama.cpp's compute buffers, which for
// a long context are a large part of it (Llama 3 8B: about 1 GiB for two slots of 4,096 tokens). A node's
// memory budget counts this, as Ollama's scheduler counts its own estimate, so a swap does not overcommit.
import { GgufInsights, type Llama, readGgufFileInfo } from 'node-llama-cpp';
import { readGgufHeader } from '../model/gguf-header.ts';

const MIB = 2 ** 20;
/** A slot's context when none is asked for: the model's training context, at most this many tokens. */
const MAX_DEFAULT_CONTEXT = 4096;

/** Tokens per slot: as asked, else the model's training context up to MAX_DEFAULT_CONTEXT. */
export function slotContextSize(asked: number | undefined, trainContextSize: number | undefined): number {
  return asked ?? Math.min(trainContextSize ?? MAX_DEFAULT_CONTEXT, MAX_DEFAULT_CONTEXT);
}

export interface LlamaMemoryEstimate {
  /** Where it is held: VRAM when the model is offloaded to a GPU, else RAM. */
  readonly device: 'gpu' | 'cpu';
  readonly weightsMiB: number;
  /** The KV cache and compute buffers of the slots' context. */
  readonly contextMiB: number;
  /** The embedding context, made on the first embeddings job and kept while the pod is loaded (0: none). */
  readonly embeddingMiB: number;
  readonly totalMiB: number;
  readonly slots: number;
  /** Tokens per slot. */
  readonly contextSize: number;
}

export interface LlamaMemoryOptions {
  readonly modelPath: string;
  readonly llama: Llama;
  /** Offloaded to the GPU (every layer), or held in RAM. */
  readonly gpu: boolean;
  readonly slots: number;
  /** Tokens per slot, as asked (default: slotContextSize's). */
  readonly contextSize?: number | undefined;
  readonly flashAttention: boolean;
  readonly embeddings: boolean;
}

export async function estimateLlamaMemory(options: LlamaMemoryOptions): Promise<LlamaMemoryEstimate> {
  // A corrupt header can hang the GGUF parser; refuse it before it sees it.
  await readGgufHeader(options.modelPath);
  const info = await readGgufFileInfo(options.modelPath, { logWarnings: false });
  const insights = await GgufInsights.from(info, options.llama);
  const gpuLayers = options.gpu ? insights.totalLayers : 0;
  const held = (need: { gpuVram: number; cpuRam: number }) => (options.gpu ? need.gpuVram : need.cpuRam);
  const contextSize = slotContextSize(options.contextSize, insights.trainContextSize);
  const weights = held(await insights.estimateModelResourceRequirementsV2({ gpuLayers }));
  const context = held(
    await insights.estimateContextResourceRequirementsV2({
      contextSize,
      modelGpuLayers: gpuLayers,
      sequences: options.slots,
      flashAttention: options.flashAttention,
    }),
  );
  const embedding = options.embeddings
    ? held(
        await insights.estimateContextResourceRequirementsV2({
          contextSize,
          modelGpuLayers: gpuLayers,
          sequences: 1,
          isEmbeddingContext: true,
        }),
      )
    : 0;
  const mib = (bytes: number) => Math.ceil(bytes / MIB);
  return {
    device: options.gpu ? 'gpu' : 'cpu',
    weightsMiB: mib(weights),
    contextMiB: mib(context),
    embeddingMiB: mib(embedding),
    totalMiB: Math.max(1, mib(weights + context + embedding)),
    slots: options.slots,
    contextSize,
  };
}

/** "weights 4,685 MiB, 2 slots × 4,096 tokens 544 MiB, embeddings 290 MiB", for logs and refusals. */
export function describeLlamaMemory(estimate: LlamaMemoryEstimate): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const parts = [
    `weights ${n(estimate.weightsMiB)} MiB`,
    `${estimate.slots} ${estimate.slots === 1 ? 'slot' : 'slots'} × ${n(estimate.contextSize)} tokens ${n(estimate.contextMiB)} MiB`,
  ];
  if (estimate.embeddingMiB > 0) parts.push(`embeddings ${n(estimate.embeddingMiB)} MiB`);
  return parts.join(', ');
}
