import { z } from 'zod';
import { HANDSHAKE_REFUSAL_CODES } from '../error-codes.ts';
import {
  AddressSchema,
  Bytes32Schema,
  IdentifierSchema,
  SignatureSchema,
  TimestampMsSchema,
  VersionStringSchema,
} from '../scalars.ts';

const VersionNumberSchema = z.int().min(1).max(1_000_000);

/** miner → router, first frame: who I am and which protocol I speak. */
export const HelloSchema = z.object({
  type: z.literal('hello'),
  version: VersionNumberSchema,
  /** Oldest version this miner still speaks; absent means only `version`. */
  minVersion: VersionNumberSchema.optional(),
  node: AddressSchema,
  software: z.object({ neurino: VersionStringSchema, node: VersionStringSchema }),
});

/** router → miner: prove you hold the node key by signing this (see handshake-auth.ts). */
export const ChallengeSchema = z.object({
  type: z.literal('challenge'),
  nonce: Bytes32Schema,
  issuedAt: TimestampMsSchema,
  expiresAt: TimestampMsSchema,
  routerId: IdentifierSchema,
});

/** miner → router: EIP-712 signature over (nonce, node, routerId, expiresAt). */
export const ChallengeAnswerSchema = z.object({
  type: z.literal('challenge.answer'),
  signature: SignatureSchema,
});

/** The heartbeat interval a router may ask for: often enough to notice a dead node, rarely enough to be cheap. */
export const HEARTBEAT_MS_RANGE = { min: 100, max: 600_000 } as const;

/** router → miner: admitted; the session speaks `version` and expects a heartbeat every `heartbeatMs`. */
export const WelcomeSchema = z.object({
  type: z.literal('welcome'),
  version: VersionNumberSchema,
  sessionId: IdentifierSchema,
  heartbeatMs: z.int().min(HEARTBEAT_MS_RANGE.min).max(HEARTBEAT_MS_RANGE.max),
});

/** router → miner: not admitted; the router closes the socket after sending it. */
export const RefusedSchema = z.object({
  type: z.literal('refused'),
  code: z.enum(HANDSHAKE_REFUSAL_CODES),
  reason: z.string().max(512),
});

export type Hello = z.output<typeof HelloSchema>;
export type Challenge = z.output<typeof ChallengeSchema>;
export type ChallengeAnswer = z.output<typeof ChallengeAnswerSchema>;
export type Welcome = z.output<typeof WelcomeSchema>;
export type Refused = z.output<typeof RefusedSchema>;
