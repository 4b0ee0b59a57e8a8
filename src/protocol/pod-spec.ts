import { type Hex, keccak256, sha256, stringToBytes } from 'viem';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { JsonValueSchema, MiBSchema, Uint256Schema, VersionStringSchema } from './scalars.ts';
import { errorFromZod, parseWith, type Result } from './schema-errors.ts';

/** How a node runs a pod. */
export const POD_RUNTIMES = ['llama-cpp', 'openai-upstream', 'snarkjs-groth16', 'process'] as const;
export type PodRuntime = (typeof POD_RUNTIMES)[number];

/** What a pod answers: the three OpenAI endpoints, or the generic jobs API. */
export const JOB_KINDS = ['chat', 'completion', 'embeddings', 'generic'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** How validators check a pod's results (whitepaper 2.1.3). */
export const VALIDATION_METHODS = [
  'reexecute',
  'llm-distribution',
  'zk-verify',
  'held-out-loss',
  'none',
] as const;
export type ValidationMethod = (typeof VALIDATION_METHODS)[number];

export const MAX_AUTOSCALE_REPLICAS = 1024;

const OptionsSchema = z
  .record(z.string().max(64), JsonValueSchema)
  .refine((o) => Object.keys(o).length <= 64, { message: 'at most 64 options' });

/**
 * A deployable workload. Strict: unknown fields are refused, so the digest of a spec is unambiguous.
 * `options` carries runtime-specific settings (e.g. `command` for `process`, `model` for
 * `openai-upstream`); `artifact` names the exact bytes the pod runs (GGUF file, circuit bundle, program),
 * which validators use to re-execute or re-score.
 */
export const PodSpecSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$/, {
      message: 'expected 1-128 characters of A-Z a-z 0-9 . _ / : -, starting with a letter or digit',
    }),
    description: z.string().max(1024).optional(),
    runtime: z.enum(POD_RUNTIMES),
    kinds: z
      .array(z.enum(JOB_KINDS))
      .min(1)
      .max(JOB_KINDS.length)
      .refine((k) => new Set(k).size === k.length, { message: 'kinds must be unique' }),
    artifact: z.strictObject({
      uri: z.string().min(1).max(2048),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected 64 lower-case hex digits' }),
    }),
    options: OptionsSchema.optional(),
    minVramMiB: MiBSchema,
    software: z
      .strictObject({ cuda: VersionStringSchema, python: VersionStringSchema, driver: VersionStringSchema })
      .partial()
      .optional(),
    deterministic: z.boolean(),
    validation: z.strictObject({
      method: z.enum(VALIDATION_METHODS),
      /** Allowed absolute difference for re-executed numeric outputs; 0 or absent means exact. */
      tolerance: z.number().min(0).max(1e6).optional(),
    }),
    /** Wei per compute unit (see units.ts). */
    pricePerUnit: Uint256Schema,
    /** Share of each payment to the pod's deployer, in basis points. */
    deployerShareBps: z.int().min(0).max(10_000),
    autoscale: z
      .strictObject({
        min: z.int().min(0).max(MAX_AUTOSCALE_REPLICAS),
        max: z.int().min(1).max(MAX_AUTOSCALE_REPLICAS),
      })
      .refine((a) => a.min <= a.max, {
        message: 'autoscale.min must not exceed autoscale.max',
        path: ['min'],
      }),
  })
  .refine((s) => s.validation.method !== 'reexecute' || s.deterministic, {
    message: 're-execution needs a deterministic pod',
    path: ['validation', 'method'],
  });

/** In memory: pricePerUnit as bigint. */
export type PodSpec = z.output<typeof PodSpecSchema>;
/** On the wire / on disk: pricePerUnit as decimal string. */
export type PodSpecJson = z.input<typeof PodSpecSchema>;

export function parsePodSpec(value: unknown): Result<PodSpec> {
  return parseWith(PodSpecSchema, value, 'invalid_request');
}

/** The exact bytes stored off-chain for a spec (content-addressed by `podSpecDigest`); throws `invalid_request`. */
export function canonicalPodSpec(spec: PodSpec): string {
  const encoded = z.safeEncode(PodSpecSchema, spec);
  if (!encoded.success) throw errorFromZod(encoded.error);
  return canonicalJson(encoded.data);
}

/** sha256 of the canonical JSON: the off-chain content address of the spec. */
export function podSpecDigest(spec: PodSpec): Hex {
  return sha256(stringToBytes(canonicalPodSpec(spec)));
}

/** The on-chain pod id (bytes32): keccak256 of the 32 digest bytes. */
export function podId(spec: PodSpec): Hex {
  return keccak256(podSpecDigest(spec));
}
