import { z } from 'zod';
import {
  ChallengeAnswerSchema,
  ChallengeSchema,
  HelloSchema,
  RefusedSchema,
  WelcomeSchema,
} from './handshake.ts';
import {
  JobAcceptedSchema,
  JobAssignSchema,
  JobCancelSchema,
  JobChunkSchema,
  JobErrorSchema,
  JobResultSchema,
} from './jobs.ts';
import { CapabilitiesSchema, DrainingSchema, DrainSchema, HeartbeatSchema } from './node-state.ts';
import {
  PodFailedSchema,
  PodLoadedSchema,
  PodLoadSchema,
  PodUnloadedSchema,
  PodUnloadSchema,
} from './pods.ts';

export * from './handshake.ts';
export * from './jobs.ts';
export * from './node-state.ts';
export * from './pods.ts';

/** Every frame a miner may send. */
export const MinerMessageSchema = z.discriminatedUnion('type', [
  HelloSchema,
  ChallengeAnswerSchema,
  CapabilitiesSchema,
  HeartbeatSchema,
  JobAcceptedSchema,
  JobChunkSchema,
  JobResultSchema,
  JobErrorSchema,
  PodLoadedSchema,
  PodUnloadedSchema,
  PodFailedSchema,
  DrainingSchema,
]);

/** Every frame a router may send. */
export const RouterMessageSchema = z.discriminatedUnion('type', [
  ChallengeSchema,
  WelcomeSchema,
  RefusedSchema,
  JobAssignSchema,
  JobCancelSchema,
  PodLoadSchema,
  PodUnloadSchema,
  DrainSchema,
]);

export const ProtocolMessageSchema = z.discriminatedUnion('type', [MinerMessageSchema, RouterMessageSchema]);

/** In memory (bigints, normalised hex). */
export type MinerMessage = z.output<typeof MinerMessageSchema>;
export type RouterMessage = z.output<typeof RouterMessageSchema>;
export type ProtocolMessage = z.output<typeof ProtocolMessageSchema>;
export type MessageType = ProtocolMessage['type'];
/** One message by its `type`, e.g. `MessageOf<'job.result'>`. */
export type MessageOf<T extends MessageType> = Extract<ProtocolMessage, { type: T }>;

export const MINER_MESSAGE_TYPES: ReadonlySet<string> = new Set(
  MinerMessageSchema.options.map((o) => o.shape.type.value),
);
export const ROUTER_MESSAGE_TYPES: ReadonlySet<string> = new Set(
  RouterMessageSchema.options.map((o) => o.shape.type.value),
);
