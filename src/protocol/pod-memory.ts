// How much memory a pod can hold on a node, from what the node announced: the scheduler places pods by it
// and the router bounds the memory a node meters into a receipt's compute units by it.
import type { Capabilities } from './messages/node-state.ts';

/**
 * Memory a pod can use on the node: its GPUs' VRAM together (llama.cpp splits a model's layers across a
 * node's GPUs, as vLLM does with tensor parallelism), or on a CPU-only node its RAM (CPU runtimes such as
 * llama.cpp hold the model there, and compute units meter RAM on such nodes).
 */
export function podMemoryMiB(hardware: Pick<Capabilities, 'gpus' | 'ramMiB'>): number {
  if (hardware.gpus.length === 0) return hardware.ramMiB;
  return hardware.gpus.reduce((sum, gpu) => sum + gpu.vramMiB, 0);
}
