import { z } from 'zod';
import { PodSpecSchema, podId } from '../pod-spec.ts';
import { Bytes32Schema } from '../scalars.ts';

/** router → miner: load this pod and keep it warm (autoscaler scaling up). */
export const PodLoadSchema = z
  .object({
    type: z.literal('pod.load'),
    podId: Bytes32Schema,
    spec: PodSpecSchema,
  })
  // The id is content-derived: a mismatch means a corrupted or forged spec.
  .refine((m) => m.podId === podId(m.spec), { message: 'podId does not match the spec', path: ['podId'] });

/** router → miner: unload when idle (autoscaler scaling down). */
export const PodUnloadSchema = z.object({
  type: z.literal('pod.unload'),
  podId: Bytes32Schema,
});

/** miner → router: the pod is warm. */
export const PodLoadedSchema = z.object({
  type: z.literal('pod.loaded'),
  podId: Bytes32Schema,
  loadMs: z.int().min(0).optional(),
});

/** miner → router: the pod is gone. */
export const PodUnloadedSchema = z.object({
  type: z.literal('pod.unloaded'),
  podId: Bytes32Schema,
});

/** miner → router: the pod could not be loaded (artifact digest mismatch, not enough VRAM, ...). */
export const PodFailedSchema = z.object({
  type: z.literal('pod.failed'),
  podId: Bytes32Schema,
  code: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  message: z.string().max(1024),
});

export type PodLoad = z.output<typeof PodLoadSchema>;
export type PodUnload = z.output<typeof PodUnloadSchema>;
export type PodLoaded = z.output<typeof PodLoadedSchema>;
export type PodUnloaded = z.output<typeof PodUnloadedSchema>;
export type PodFailed = z.output<typeof PodFailedSchema>;
