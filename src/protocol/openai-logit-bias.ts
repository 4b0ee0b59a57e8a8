import { z } from 'zod';

/** A token id as a key: a decimal integer without leading zeros. */
const TOKEN_ID = /^(0|[1-9][0-9]{0,9})$/;

/** Most tokens one request may bias. */
export const MAX_LOGIT_BIAS = 1024;

/**
 * OpenAI's `logit_bias`: token ids of the model's own vocabulary (as decimal keys) mapped to a bias from
 * -100 to 100 added to the token's logit before sampling (-100 bans a token in practice, 100 all but
 * forces it). The ids are the pod's model's: a pod checks them against its vocabulary.
 */
export const LogitBiasSchema = z
  .record(z.string(), z.number().min(-100).max(100))
  .superRefine((bias, ctx) => {
    const keys = Object.keys(bias);
    if (keys.length > MAX_LOGIT_BIAS) {
      ctx.addIssue({ code: 'custom', message: `logit_bias may bias at most ${MAX_LOGIT_BIAS} tokens` });
    }
    const key = keys.find((k) => !TOKEN_ID.test(k));
    if (key !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'not a token id: keys are token ids (0, 1, 2, ...)',
        path: [key],
      });
    }
  });

export type LogitBias = z.output<typeof LogitBiasSchema>;

/** The biases by token id; undefined when there are none. */
export function logitBiasMap(bias: LogitBias | null | undefined): ReadonlyMap<number, number> | undefined {
  if (bias == null) return undefined;
  const entries = Object.entries(bias);
  if (entries.length === 0) return undefined;
  return new Map(entries.map(([token, value]) => [Number(token), value]));
}
