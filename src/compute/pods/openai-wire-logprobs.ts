// Log probabilities in OpenAI's wire shapes, to and from an upstream. Chat asks with `logprobs: true` and
// `top_logprobs`, and answers with `logprobs.content` (per chunk when streamed); completions ask with the
// legacy count and answer with parallel arrays and a token → logprob dict per place (llama.cpp's server
// answers them in chat's shape instead, so both are read on either endpoint). Read only when asked: what an
// upstream sends unasked is never looked at.
import { z } from 'zod';
import { formatPath } from '../../protocol/schema-errors.ts';
import { PodUpstreamError } from './errors.ts';
import { type TokenChoice, type TokenLogprob, UNWRITABLE_LOGPROB } from './types.ts';

/** Null: a -Infinity the server could not write as JSON. */
const LogprobWire = z.number().nullable();
/** Null or absent on some servers: then the token's own UTF-8. */
const BytesWire = z.array(z.int().min(0).max(255)).nullish();
const TokenChoiceWire = z.object({ token: z.string(), logprob: LogprobWire, bytes: BytesWire });

/** Chat's shape; OpenAI also sends `refusal`, and `content: null` for an answer without text. */
const ChatLogprobsWire = z.object({
  content: z.array(TokenChoiceWire.extend({ top_logprobs: z.array(TokenChoiceWire).nullish() })).nullish(),
});

/** The legacy completions shape; `text_offset` is not needed. A null dict: no alternatives at that place. */
const LegacyLogprobsWire = z
  .object({
    tokens: z.array(z.string()),
    token_logprobs: z.array(LogprobWire),
    top_logprobs: z.array(z.record(z.string(), LogprobWire).nullable()).nullish(),
  })
  .refine(
    (wire) =>
      wire.token_logprobs.length === wire.tokens.length &&
      (wire.top_logprobs == null || wire.top_logprobs.length === wire.tokens.length),
    'tokens, token_logprobs and top_logprobs differ in length',
  );

const utf8 = new TextEncoder();

/** How each endpoint asks for them; nothing when not asked. */
export function logprobsBody(
  path: 'chat/completions' | 'completions',
  top: number | undefined,
): Record<string, unknown> {
  if (top === undefined) return {};
  return path === 'completions' ? { logprobs: top } : { logprobs: true, top_logprobs: top };
}

/**
 * The log probabilities of a whole answer or of one streamed chunk, with at most `top` alternatives each,
 * most likely first; none when the upstream sent none. A malformed structure fails the job.
 */
export function logprobsOf(wire: unknown, top: number): TokenLogprob[] {
  if (wire === null || wire === undefined) return [];
  if (typeof wire === 'object' && 'tokens' in wire)
    return legacyLogprobsOf(parse(LegacyLogprobsWire, wire), top);
  const content = parse(ChatLogprobsWire, wire).content ?? [];
  return content.map((entry) => ({
    ...choiceOf(entry),
    top: mostLikely((entry.top_logprobs ?? []).map(choiceOf), top),
  }));
}

function legacyLogprobsOf(wire: z.output<typeof LegacyLogprobsWire>, top: number): TokenLogprob[] {
  return wire.tokens.map((token, i) => {
    const alternatives = Object.entries(wire.top_logprobs?.[i] ?? {}).map(([alternative, logprob]) =>
      choiceOf({ token: alternative, logprob }),
    );
    return {
      ...choiceOf({ token, logprob: wire.token_logprobs[i] ?? null }),
      top: mostLikely(alternatives, top),
    };
  });
}

/** Sorted, as a dict has no order and not every server orders its list. */
function mostLikely(choices: TokenChoice[], top: number): TokenChoice[] {
  return choices.sort((a, b) => b.logprob - a.logprob).slice(0, top);
}

function choiceOf(wire: z.output<typeof TokenChoiceWire>): TokenChoice {
  return {
    token: wire.token,
    logprob: logprobOf(wire.logprob),
    bytes: wire.bytes ?? [...utf8.encode(wire.token)],
  };
}

/** Anything below -9999 stands for -Infinity (llama.cpp's -FLT_MAX); rounding may put a sure token above 0. */
function logprobOf(wire: number | null): number {
  if (wire === null || wire < UNWRITABLE_LOGPROB) return UNWRITABLE_LOGPROB;
  return Math.min(wire, 0);
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${formatPath(issue.path)}`;
  throw new PodUpstreamError(`Upstream sent malformed log probabilities${where}: ${issue?.message ?? ''}`, {
    cause: parsed.error,
  });
}
