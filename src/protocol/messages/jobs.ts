import { z } from 'zod';
import { MAX_BATCH_INPUTS, MAX_CHOICES } from '../openai.ts';
import { PromptTokenLogprobSchema, TokenLogprobSchema } from '../openai-logprobs.ts';
import { JOB_KINDS } from '../pod-spec.ts';
import {
  AddressSchema,
  Bytes32Schema,
  JsonValueSchema,
  MiBSchema,
  SignatureSchema,
  TimestampMsSchema,
  Uint256Schema,
} from '../scalars.ts';
import { MAX_SLOTS } from './node-state.ts';

/** Longest wait a node may ask for in a refusal (a day); the router caps it lower anyway. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/** Longest streamed delta in one frame; miners split longer text. */
export const MAX_CHUNK_CHARS = 64 * 1024;

const TokenCount = z
  .int()
  .min(0)
  .max(2 ** 32 - 1);

/**
 * router → miner: run one attempt of a job. For `chat`, `completion` and `embeddings` the input is the
 * OpenAI request body (see openai.ts); for `generic` it is whatever the pod takes.
 */
export const JobAssignSchema = z
  .object({
    type: z.literal('job.assign'),
    jobId: Bytes32Schema,
    attemptId: Bytes32Schema,
    podId: Bytes32Schema,
    kind: z.enum(JOB_KINDS),
    input: JsonValueSchema,
    stream: z.boolean(),
    deadlineAt: TimestampMsSchema,
    payer: AddressSchema,
    frontend: AddressSchema.optional(),
    /** Wei per compute unit this attempt is paid at. */
    pricePerUnit: Uint256Schema,
  })
  .refine((m) => !m.stream || m.kind !== 'embeddings', {
    message: 'embeddings do not stream',
    path: ['stream'],
  });

/**
 * miner → router: the attempt is running; the router stops its accept timer. Optional for an attempt that
 * ends soon (the miner sends it after a short delay): its first chunk, result or error stops the timer as
 * well.
 */
export const JobAcceptedSchema = z.object({
  type: z.literal('job.accepted'),
  attemptId: Bytes32Schema,
});

/** Choices of one streamed job: every prompt of a completion batch times `n`. */
export const MAX_STREAMED_CHOICES = MAX_BATCH_INPUTS * MAX_CHOICES;

/** Log probability entries one chunk may carry; a miner sends more in further chunks. */
export const MAX_CHUNK_LOGPROBS = 1024;

/** Calls one streamed answer may make (as many as its output may hold). */
export const MAX_STREAMED_TOOL_CALLS = 128;

/**
 * A piece of a tool call as the model writes it: the call's first piece names it (`id` and `name`, which
 * the result's call repeats), every piece adds to its arguments (the pieces of a call concatenate to the
 * result's `arguments`). Calls are numbered from 0 in the order they begin, after the choice's text.
 */
export const ToolCallDeltaSchema = z
  .object({
    index: z
      .int()
      .min(0)
      .max(MAX_STREAMED_TOOL_CALLS - 1),
    id: z.string().min(1).max(256).optional(),
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
    arguments: z.string().max(MAX_CHUNK_CHARS),
  })
  .refine((d) => (d.id === undefined) === (d.name === undefined), {
    message: "a call's first piece carries its id and name, later ones neither",
    path: ['name'],
  });

/**
 * miner → router: a piece of streamed output; `seq` counts from 0 without gaps. When the job asked for
 * log probabilities, `logprobs` are those of the tokens whose text this delta begins (their joined bytes
 * are the delta's, but for a character split between chunks). A chunk with `toolCall` carries a piece of
 * a call instead of text (its `delta` is ''). A completion with `echo` streams, on each prompt's first
 * choice and before its text, the prompt's text when the prompt came as token ids (`promptText`, the pieces
 * joining to the result's), then with `logprobs` its scored tokens (`promptLogprobs`, as the result's), in
 * chunks of nothing else.
 */
export const JobChunkSchema = z
  .object({
    type: z.literal('job.chunk'),
    attemptId: Bytes32Schema,
    seq: z.int().min(0),
    delta: z.string().max(MAX_CHUNK_CHARS),
    logprobs: z.array(TokenLogprobSchema).max(MAX_CHUNK_LOGPROBS).optional(),
    /** The choice the delta belongs to (`n` per prompt, prompt by prompt), when not the first. */
    choice: z.int().min(1).max(MAX_STREAMED_CHOICES).optional(),
    toolCall: ToolCallDeltaSchema.optional(),
    promptLogprobs: z.array(PromptTokenLogprobSchema).min(1).max(MAX_CHUNK_LOGPROBS).optional(),
    promptText: z.string().min(1).max(MAX_CHUNK_CHARS).optional(),
  })
  .refine((m) => m.toolCall === undefined || (m.delta === '' && m.logprobs === undefined), {
    message: 'a chunk carries a piece of text or of a tool call, not both',
    path: ['toolCall'],
  })
  .refine(
    (m) =>
      m.promptLogprobs === undefined ||
      (m.delta === '' && m.logprobs === undefined && m.toolCall === undefined && m.promptText === undefined),
    { message: "a chunk of a prompt's log probabilities carries nothing else", path: ['promptLogprobs'] },
  )
  .refine(
    (m) =>
      m.promptText === undefined || (m.delta === '' && m.logprobs === undefined && m.toolCall === undefined),
    { message: "a chunk of a prompt's text carries nothing else", path: ['promptText'] },
  );

export const UsageSchema = z.object({ inputTokens: TokenCount, outputTokens: TokenCount });

/**
 * miner → router: the attempt finished. `signature` is the node's EIP-712 signature over the Receipt
 * built from the assignment and these fields (see receipt.ts, `receiptFor`).
 */
export const JobResultSchema = z
  .object({
    type: z.literal('job.result'),
    attemptId: Bytes32Schema,
    output: JsonValueSchema,
    usage: UsageSchema,
    gpuMs: z.int().min(0),
    vramMiB: MiBSchema,
    computeUnits: Uint256Schema,
    resultHash: Bytes32Schema,
    startedAt: TimestampMsSchema,
    finishedAt: TimestampMsSchema,
    signature: SignatureSchema,
  })
  .refine((m) => m.startedAt <= m.finishedAt, {
    message: 'finishedAt precedes startedAt',
    path: ['finishedAt'],
  });

/** miner → router: the attempt failed; `code` is a registry code (unknown ones count as node_failed). */
export const JobErrorSchema = z.object({
  type: z.literal('job.error'),
  attemptId: Bytes32Schema,
  code: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { message: 'expected a snake_case error code' }),
  message: z.string().max(1024),
  retryable: z.boolean(),
  /** The job input's field at fault (OpenAI's `error.param`), when one is. */
  param: z.string().min(1).max(256).optional(),
  /**
   * On a refusal (the node took no slot for the attempt): its free slots as it refused, so the router's
   * count follows at once rather than at the next heartbeat.
   */
  slotsFree: z.int().min(0).max(MAX_SLOTS).optional(),
  /**
   * On a busy refusal (`rate_limited`): how long the node asks to be left alone, in ms (its upstream's
   * Retry-After). The router pauses it at least a second and at most its longest suspension.
   */
  retryAfterMs: z.int().min(0).max(MAX_RETRY_AFTER_MS).optional(),
});

/**
 * router → miner: stop this attempt (client gone, deadline passed, another attempt won). With `partial`
 * (the client went away, or the deadline passed after output reached it) the caller pays for the work done
 * so far: a pod that can stop where it is answers with a signed `job.result` of what it produced,
 * finishReason 'cancelled'; any other answers `job.error`.
 */
export const JobCancelSchema = z.object({
  type: z.literal('job.cancel'),
  attemptId: Bytes32Schema,
  reason: z.string().max(512).optional(),
  partial: z.boolean().optional(),
});

export type JobAssign = z.output<typeof JobAssignSchema>;
export type JobAccepted = z.output<typeof JobAcceptedSchema>;
export type JobChunk = z.output<typeof JobChunkSchema>;
/** A streamed piece as it is handed on: the chunk without its framing (`choice` absent for the first). */
export type StreamPiece = Pick<
  JobChunk,
  'delta' | 'logprobs' | 'choice' | 'toolCall' | 'promptLogprobs' | 'promptText'
>;
export type ToolCallDelta = z.output<typeof ToolCallDeltaSchema>;
export type Usage = z.output<typeof UsageSchema>;
export type JobResult = z.output<typeof JobResultSchema>;
export type JobError = z.output<typeof JobErrorSchema>;
export type JobCancel = z.output<typeof JobCancelSchema>;
