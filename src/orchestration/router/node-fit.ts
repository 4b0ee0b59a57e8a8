import type { Hex } from 'viem';
import type { Capabilities } from '../../protocol/messages/node-state.ts';
import { podMemoryMiB } from '../../protocol/pod-memory.ts';
import type { PodSpec } from '../../protocol/pod-spec.ts';

/** What the scheduler needs from a node's `capabilities` message. */
export type NodeHardware = Pick<
  Capabilities,
  'gpus' | 'ramMiB' | 'python' | 'efficiency' | 'runtimes' | 'podMemory' | 'hostedPods'
>;

/**
 * Why the node cannot host the pod, or undefined when it can: enough memory and at least the CUDA,
 * driver and Python versions the spec asks for. Whether the pod is warm or only loadable is decided apart.
 */
export function misfit(hardware: NodeHardware, spec: PodSpec): string | undefined {
  const memory = podMemoryMiB(hardware);
  if (memory < spec.minVramMiB) return `needs ${spec.minVramMiB} MiB of memory, node has ${memory} MiB`;
  const software = spec.software ?? {};
  if (software.cuda !== undefined && !hardware.gpus.some((g) => atLeast(g.cuda, software.cuda as string))) {
    return `needs CUDA ${software.cuda}`;
  }
  if (
    software.driver !== undefined &&
    !hardware.gpus.some((g) => atLeast(g.driver, software.driver as string))
  ) {
    return `needs GPU driver ${software.driver}`;
  }
  if (software.python !== undefined && !atLeast(hardware.python, software.python)) {
    return `needs Python ${software.python}`;
  }
  return undefined;
}

/**
 * A node that has not loaded the pod can load it when it runs the pod's runtime and, when it lists the pods
 * it hosts, the pod is one of them.
 */
export function canLoad(hardware: NodeHardware, spec: PodSpec, podId: Hex): boolean {
  if (!hardware.runtimes.includes(spec.runtime)) return false;
  return hardware.hostedPods === undefined || hardware.hostedPods.includes(podId);
}

/**
 * Whether the node's pods leave room for the pod as it announced (a node that says nothing of its memory
 * is taken to have room): loading it there unloads nothing and waits for no other pod's jobs. The pod
 * needs what the node says it holds there (its KV cache included), else its spec's minVramMiB.
 */
export function hasRoom(hardware: Pick<NodeHardware, 'podMemory'>, podId: Hex, spec: PodSpec): boolean {
  const memory = hardware.podMemory;
  return memory === undefined || memory.budgetMiB - memory.heldMiB >= podNeedMiB(memory, podId, spec);
}

type PodMemory = NonNullable<NodeHardware['podMemory']>;
const needsByList = new WeakMap<NonNullable<PodMemory['pods']>, Map<Hex, number>>();

function podNeedMiB(memory: PodMemory, podId: Hex, spec: PodSpec): number {
  if (memory.pods === undefined) return spec.minVramMiB;
  let needs = needsByList.get(memory.pods);
  if (needs === undefined) {
    needs = new Map(memory.pods.map((pod) => [pod.podId, pod.mib]));
    needsByList.set(memory.pods, needs);
  }
  return needs.get(podId) ?? spec.minVramMiB;
}

function atLeast(have: string | undefined, need: string): boolean {
  return have !== undefined && compareVersions(have, need) >= 0;
}

/**
 * Compares dotted versions numerically (`12.10` > `12.4`, `3.11.8` > `3.11`); text after the numbers
 * (`-rc1`, ` (build 5)`) is ignored. Negative when a < b.
 */
export function compareVersions(a: string, b: string): number {
  const left = numericParts(a);
  const right = numericParts(b);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function numericParts(version: string): number[] {
  const match = /^\D*(\d+(?:\.\d+)*)/.exec(version);
  return match?.[1] === undefined ? [] : match[1].split('.').map(Number);
}
