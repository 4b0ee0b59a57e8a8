// The self-benchmark the router ranks nodes by: llama.cpp evaluating a prompt on a generated model, on
// the device and with the threads the node's llama.cpp pods use. A GPU node is measured on its GPU, so
// a node that names a big GPU but runs on something slower ranks by what it runs on.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Token } from 'node-llama-cpp';
import {
  BENCHMARK_MODEL_SHAPE,
  buildBenchmarkModel,
  layerWeightsPerToken,
} from '../../model/benchmark-model.ts';
import type { LlamaShape } from '../../model/llama-metadata.ts';
import { sharedLlama } from '../../pods/llama-instance.ts';

export interface LlamaBenchmarkOptions {
  /** 'auto' offloads to the GPU llama.cpp finds (CUDA, Vulkan, Metal), as the pods do. */
  readonly gpu: false | 'auto';
  /** CPU threads, as the pods have them. */
  readonly threads: number;
  /** Timed evaluations go on until this much time has passed (at least three). Default 250 ms. */
  readonly budgetMs?: number;
  /** Tokens per evaluated prompt (one batch). Default 256. */
  readonly promptTokens?: number;
  /** Default BENCHMARK_MODEL_SHAPE; tests use a smaller one. */
  readonly shape?: LlamaShape;
  /** Where the model file lives while it is measured (removed after). Default the OS temp dir. */
  readonly workDir?: string;
}

export interface LlamaBenchmarkResult {
  /** Billions of floating-point operations per second through the layers' weights: the `efficiency`. */
  readonly gflops: number;
  /** 'cpu', or the GPU backend llama.cpp ran on ('cuda', 'vulkan', 'metal'). */
  readonly device: string;
  /** The GPUs llama.cpp itself sees (empty on the CPU). */
  readonly deviceNames: readonly string[];
  /** Timed prompt evaluations, and the median one's duration. */
  readonly repetitions: number;
  readonly medianMs: number;
  /**
   * Tokens per second evaluated one at a time after a prompt, as generation does: bound by memory
   * bandwidth and by how often threads meet rather than by arithmetic. Reported, not ranked by.
   */
  readonly decodeTokensPerSecond: number;
}

/** Where the benchmark ran, for people: `cpu`, or the backend with the GPUs llama.cpp sees. */
export function deviceLabel(result: Pick<LlamaBenchmarkResult, 'device' | 'deviceNames'>): string {
  return result.deviceNames.length > 0
    ? `${result.device} (${result.deviceNames.join(', ')})`
    : result.device;
}

const MIN_REPETITIONS = 3;
const MAX_REPETITIONS = 1_000;
const DECODE_TOKENS = 32;

export async function runLlamaBenchmark(options: LlamaBenchmarkOptions): Promise<LlamaBenchmarkResult> {
  const shape = options.shape ?? BENCHMARK_MODEL_SHAPE;
  const promptTokens = options.promptTokens ?? 256;
  const budgetMs = options.budgetMs ?? 250;
  if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError('threads must be >= 1');
  const maxPrompt = shape.contextLength - DECODE_TOKENS;
  if (!Number.isInteger(promptTokens) || promptTokens < 1 || promptTokens > maxPrompt)
    throw new RangeError(`promptTokens must be 1..${maxPrompt}`);
  const llama = await sharedLlama({ gpu: options.gpu, maxThreads: options.threads });
  const dir = await mkdtemp(join(options.workDir ?? tmpdir(), 'neurino-bench-'));
  try {
    const modelPath = join(dir, 'neurino-bench.gguf');
    await writeFile(modelPath, buildBenchmarkModel(shape));
    const model = await llama.loadModel({ modelPath, gpuLayers: options.gpu === false ? 0 : 'max' });
    try {
      const context = await model.createContext({
        contextSize: shape.contextLength,
        batchSize: promptTokens,
        threads: options.threads,
      });
      try {
        const sequence = context.getSequence();
        const durations = await timeEvaluations(sequence, prompt(promptTokens), budgetMs);
        const decodeTokensPerSecond = await timeDecoding(sequence);
        const medianMs = median(durations);
        const flops = 2 * layerWeightsPerToken(shape) * promptTokens;
        return {
          gflops: Math.round((flops / medianMs / 1e6) * 1000) / 1000,
          device: llama.gpu === false ? 'cpu' : llama.gpu,
          deviceNames: llama.gpu === false ? [] : await llama.getGpuDeviceNames(),
          repetitions: durations.length,
          medianMs,
          decodeTokensPerSecond,
        };
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Sequence {
  clearHistory(): Promise<void>;
  evaluateWithoutGeneratingNewTokens(tokens: Token[]): Promise<void>;
}

/** One untimed evaluation (buffers, kernels), then timed ones from an empty cache until the budget is spent. */
async function timeEvaluations(sequence: Sequence, tokens: Token[], budgetMs: number): Promise<number[]> {
  await sequence.evaluateWithoutGeneratingNewTokens(tokens);
  const durations: number[] = [];
  const started = performance.now();
  while (
    durations.length < MIN_REPETITIONS ||
    (performance.now() - started < budgetMs && durations.length < MAX_REPETITIONS)
  ) {
    await sequence.clearHistory();
    const at = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(tokens);
    durations.push(Math.max(performance.now() - at, 1e-3));
  }
  return durations;
}

/** Tokens fed one by one after the last prompt, which is still in the context. */
async function timeDecoding(sequence: Sequence): Promise<number> {
  const tokens = prompt(DECODE_TOKENS);
  const started = performance.now();
  for (const token of tokens) await sequence.evaluateWithoutGeneratingNewTokens([token]);
  const elapsedMs = Math.max(performance.now() - started, 1e-3);
  return Math.round((DECODE_TOKENS / elapsedMs) * 1000 * 10) / 10;
}

/** Ordinary tokens of the byte-level vocabulary (past the specials), the same every run. */
function prompt(length: number): Token[] {
  return Array.from({ length }, (_, i) => (((i * 7_919) % 200) + 10) as Token);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}
