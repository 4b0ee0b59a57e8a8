// The `capabilities` frame: what this node has and can run right now.
import { type Capabilities, MAX_SLOTS } from '../../protocol/messages/node-state.ts';
import { MAX_MIB } from '../../protocol/scalars.ts';

import type { Hardware } from './hardware/probe.ts';
import type { PodHost } from './pod-host.ts';
import type { Slots } from './slots.ts';

export interface CapabilitiesSource {
  readonly hardware: Hardware;
  /** The benchmark's figure (see hardware/benchmark.ts). */
  readonly efficiency: number;
  readonly slots: Slots;
  readonly pods: PodHost;
}

export function capabilitiesMessage(source: CapabilitiesSource): Capabilities {
  const { hardware, efficiency, slots, pods } = source;
  return {
    type: 'capabilities',
    gpus: hardware.gpus,
    cpu: { model: hardware.cpu.model.slice(0, 128), cores: hardware.cpu.cores },
    ramMiB: hardware.ramMiB,
    ...(hardware.python === undefined ? {} : { python: hardware.python }),
    efficiency: Math.min(1e9, Math.max(0, efficiency)),
    slots: { total: slots.total, free: slots.free },
    warmPods: pods.warmPodIds(),
    runtimes: pods.runtimeKinds(),
    hostedPods: pods.list().map((pod) => pod.podId),
    podSlots: pods.list().map((pod) => ({
      podId: pod.podId,
      total: Math.min(MAX_SLOTS, Math.max(1, pod.runtime.info().slots)),
    })),
    ...(Number.isFinite(pods.memoryMiB)
      ? {
          podMemory: {
            budgetMiB: Math.min(MAX_MIB, pods.memoryMiB),
            heldMiB: Math.min(MAX_MIB, pods.heldMiB),
            // An upstream server's pod takes none of it: its server holds the model.
            pods: pods.list().map((pod) => ({
              podId: pod.podId,
              mib: pod.resident ? Math.min(MAX_MIB, pod.residentMiB) : 0,
            })),
          },
        }
      : {}),
  };
}
