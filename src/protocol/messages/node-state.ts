import { z } from 'zod';
import { Bytes32Schema, MiBSchema, TimestampMsSchema, VersionStringSchema } from '../scalars.ts';

export const MAX_GPUS = 64;
export const MAX_SLOTS = 1024;
export const MAX_WARM_PODS = 256;

export const GpuSchema = z.object({
  name: z.string().min(1).max(128),
  vramMiB: MiBSchema,
  driver: VersionStringSchema.optional(),
  cuda: VersionStringSchema.optional(),
});

/** miner → router after `welcome`, and again whenever it changes (a pod loaded, a GPU lost). */
export const CapabilitiesSchema = z.object({
  type: z.literal('capabilities'),
  gpus: z.array(GpuSchema).max(MAX_GPUS),
  cpu: z.object({ model: z.string().max(128), cores: z.int().min(1).max(4096) }),
  ramMiB: MiBSchema,
  python: VersionStringSchema.optional(),
  /** Measured throughput score from the miner's benchmark; higher is better, comparable across nodes. */
  efficiency: z.number().min(0).max(1e9),
  slots: z
    .object({ total: z.int().min(0).max(MAX_SLOTS), free: z.int().min(0).max(MAX_SLOTS) })
    .refine((s) => s.free <= s.total, { message: 'free slots exceed total', path: ['free'] }),
  /** Pod ids loaded and ready to run without a cold start. */
  warmPods: z.array(Bytes32Schema).max(MAX_WARM_PODS),
  /** Pod runtimes this miner can host; free strings so newer runtimes do not break older routers. */
  runtimes: z.array(z.string().min(1).max(64)).max(32),
  /**
   * Every pod the node can run, warm or cold (those its operator configured). Absent: any pod of its
   * runtimes, as far as it says (a node that fetches pods as asked).
   */
  hostedPods: z.array(Bytes32Schema).max(MAX_WARM_PODS).optional(),
  /**
   * The jobs each of its pods runs at once, for a node whose pods keep slots of their own (several pods
   * on one node): a job of a pod whose slots are all busy waits on the node even while `slots` has some
   * free (another pod's), so a router sends it there only when the pod has a slot free. A pod not listed
   * takes any of the node's slots.
   */
  podSlots: z
    .array(z.object({ podId: Bytes32Schema, total: z.int().min(1).max(MAX_SLOTS) }))
    .max(MAX_WARM_PODS)
    .optional(),
  /**
   * The memory the node's in-process pods share (MiB): what they may hold at once, and hold now. A cold
   * pod that does not fit in what is left unloads others first. Absent from nodes that keep no budget.
   * `pods`: what each of its hosted pods holds of it once loaded, as the node estimates it (a llama.cpp
   * pod's weights and the KV cache of its slots; 0 for a pod whose model an upstream server holds); a pod
   * not listed needs its spec's minVramMiB.
   */
  podMemory: z
    .object({
      budgetMiB: MiBSchema,
      heldMiB: MiBSchema,
      pods: z
        .array(z.object({ podId: Bytes32Schema, mib: MiBSchema }))
        .max(MAX_WARM_PODS)
        .optional(),
    })
    .optional(),
});

/** miner → router, every `heartbeatMs`. */
export const HeartbeatSchema = z.object({
  type: z.literal('heartbeat'),
  at: TimestampMsSchema,
  slotsFree: z.int().min(0).max(MAX_SLOTS),
  /** Busy share of the node's GPUs (or CPU) over the last interval, 0..1. */
  load: z.number().min(0).max(1),
});

/** router → miner: finish running jobs, take no new ones, then disconnect. */
export const DrainSchema = z.object({
  type: z.literal('drain'),
  reason: z.string().max(512).optional(),
  deadlineAt: TimestampMsSchema.optional(),
});

/** miner → router: going away (on `drain` or on its own shutdown); assign nothing more. */
export const DrainingSchema = z.object({
  type: z.literal('draining'),
  activeJobs: z.int().min(0).max(MAX_SLOTS),
});

export type Gpu = z.output<typeof GpuSchema>;
export type Capabilities = z.output<typeof CapabilitiesSchema>;
export type Heartbeat = z.output<typeof HeartbeatSchema>;
export type Drain = z.output<typeof DrainSchema>;
export type Draining = z.output<typeof DrainingSchema>;
