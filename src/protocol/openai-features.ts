import { z } from 'zod';

/**
 * OpenAI request fields beyond sampling: the structured output the pods can give (`response_format`), and
 * those that ask for something they cannot give yet (audio, the deprecated functions...). A
 * client that sends one of the latter counts on its effect, so it is refused as `unsupported_parameter`
 * rather than ignored; its neutral values (null, false, 0, [], 'none') pass, since SDKs often send
 * defaults.
 */

const UNSUPPORTED = { code: 'unsupported_parameter' } as const;

/** `schema` where only `isNeutral` values pass; anything else is refused with `message`. */
function onlyNeutral<S extends z.ZodType>(
  schema: S,
  isNeutral: (value: z.output<S>) => boolean,
  message: string,
) {
  return schema.refine((value) => isNeutral(value as z.output<S>), { message, params: UNSUPPORTED });
}

const isNullish = (value: unknown) => value === null || value === undefined;
const NO_FUNCTIONS =
  'functions and function_call are deprecated and not supported: send tools and tool_choice';

const Functions = onlyNeutral(
  z.array(z.unknown()).nullable(),
  (v) => v === null || v.length === 0,
  NO_FUNCTIONS,
);
// 'auto' and 'none' without functions ask for nothing; a named function would.
const FunctionCall = onlyNeutral(
  z.unknown(),
  (v) => isNullish(v) || v === 'auto' || v === 'none',
  NO_FUNCTIONS,
);

type FieldRules = Readonly<Record<string, z.ZodType>>;

/** Fields of a chat completion request the pods cannot honour, refused unless neutral. */
const CHAT_UNSUPPORTED: FieldRules = {
  functions: Functions,
  function_call: FunctionCall,
  audio: onlyNeutral(z.unknown(), isNullish, 'audio output is not supported'),
  modalities: onlyNeutral(
    z.array(z.string()).nullable(),
    (v) => v === null || v.every((m) => m === 'text'),
    'only the text modality is supported',
  ),
  prediction: onlyNeutral(z.unknown(), isNullish, 'predicted outputs are not supported'),
  web_search_options: onlyNeutral(z.unknown(), isNullish, 'web search is not supported'),
};

/** Fields of a (legacy) completion request the pods cannot honour, refused unless neutral. */
const COMPLETION_UNSUPPORTED: FieldRules = {
  response_format: onlyNeutral(
    z.unknown(),
    (v) => isNullish(v) || (typeof v === 'object' && (v as { type?: unknown }).type === 'text'),
    'structured output is served on /v1/chat/completions',
  ),
};

/**
 * A check over a request body: each of `rules`' fields that is present must pass its rule. Only present
 * fields are looked at (requests rarely carry any of them), so absent ones cost a property read each.
 */
function presentFieldsPass(rules: FieldRules) {
  const entries = Object.entries(rules);
  return (body: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const [key, rule] of entries) {
      const value = body[key];
      if (value === undefined) continue;
      const checked = rule.safeParse(value);
      if (checked.success) continue;
      for (const issue of checked.error.issues) {
        // Re-raised as custom issues: a rule's own code (unsupported_parameter) rides in its params.
        const params = issue.code === 'custom' ? issue.params : undefined;
        ctx.addIssue({
          code: 'custom',
          message: issue.message,
          path: [key, ...issue.path],
          input: value,
          ...(params === undefined ? {} : { params }),
        });
      }
    }
  };
}

export const refuseUnsupportedChatFields = presentFieldsPass(CHAT_UNSUPPORTED);
export const refuseUnsupportedCompletionFields = presentFieldsPass(COMPLETION_UNSUPPORTED);

/** A JSON Schema as OpenAI takes it: an object; the pod runtime says which keywords it can enforce. */
export const JsonSchemaObject = z.record(z.string(), z.unknown());

export const ResponseFormatSchema = z
  .discriminatedUnion(
    'type',
    [
      z.looseObject({ type: z.literal('text') }),
      z.looseObject({ type: z.literal('json_object') }),
      z.looseObject({
        type: z.literal('json_schema'),
        json_schema: z.looseObject({
          name: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,64}$/, 'name must be 1-64 letters, digits, underscores or dashes'),
          description: z.string().max(4096).optional(),
          schema: JsonSchemaObject.optional(),
          strict: z.boolean().nullish(),
        }),
      }),
    ],
    { error: 'response_format.type must be one of text, json_object, json_schema' },
  )
  .nullish();

export type ResponseFormat = z.output<typeof ResponseFormatSchema>;

/**
 * What a pod receives of `response_format`: nothing for plain text, else JSON, held to `schema` when one
 * is given (a json_schema format without a schema asks for any JSON, like json_object).
 */
export function podResponseFormat(
  format: ResponseFormat,
): { type: 'json_object' } | { type: 'json_schema'; schema: Record<string, unknown> } | undefined {
  if (format == null || format.type === 'text') return undefined;
  if (format.type === 'json_schema' && format.json_schema.schema !== undefined) {
    return { type: 'json_schema', schema: format.json_schema.schema };
  }
  return { type: 'json_object' };
}
