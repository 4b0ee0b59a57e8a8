import { z } from 'zod';
import { ObjectIdSchema } from './object-id.ts';
import {
  type ChatCompletionRequest,
  MAX_MESSAGES,
  MAX_TEXT_CHARS,
  MAX_TOP_LOGPROBS,
  parseChatCompletionRequest,
} from './openai.ts';
import { JsonSchemaObject } from './openai-features.ts';
import { checkToolOffer, MAX_TOOLS, ToolCallIdSchema, ToolNameSchema } from './openai-tools.ts';
import { parseWith, type Result } from './schema-errors.ts';

/**
 * OpenAI's Responses API (`POST /v1/responses`) as a chat job: the request's items become a chat
 * conversation (instructions first, function calls and their outputs as tool calls and tool messages), so
 * every pod that chats serves it. A stored response continues with `previous_response_id` (its
 * conversation before the request's items, see openai-responses-api-items.ts), a conversation object with
 * `conversation`; stored prompts are refused, as are built-in tools and non-text inputs no pod can give.
 */

const UNSUPPORTED = { code: 'unsupported_parameter' } as const;
const Text = z.string().max(MAX_TEXT_CHARS);

const TextPart = z.looseObject({
  type: z.enum(['input_text', 'output_text'], {
    error: 'only text content parts (input_text, output_text) are supported',
  }),
  text: Text,
});
const Content = z.union([Text, z.array(TextPart).max(256)], {
  error: 'content must be a string or a list of text parts',
});

const MessageItem = z.looseObject({
  type: z.literal('message'),
  role: z.enum(['user', 'system', 'developer', 'assistant'], {
    error: 'role must be one of user, system, developer, assistant',
  }),
  content: Content,
});
const FunctionCallItem = z.looseObject({
  type: z.literal('function_call'),
  call_id: ToolCallIdSchema,
  name: ToolNameSchema,
  arguments: z.string().max(MAX_TEXT_CHARS),
});
const FunctionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: ToolCallIdSchema,
  output: Content,
});

/** Items by their `type`; a message may leave it out. */
export const ResponsesInputItemSchema = z.preprocess(
  (item) =>
    typeof item === 'object' && item !== null && !('type' in item) ? { ...item, type: 'message' } : item,
  z.discriminatedUnion('type', [MessageItem, FunctionCallItem, FunctionCallOutputItem], {
    error: 'items must be of type message, function_call or function_call_output',
  }),
);

const FunctionTool = z.looseObject({
  type: z.literal('function', { error: 'only function tools are supported (no built-in tools)' }),
  name: ToolNameSchema,
  description: z.string().max(8192).nullish(),
  parameters: JsonSchemaObject.nullish(),
  strict: z.boolean().nullish(),
});

const ToolChoice = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.looseObject({ type: z.literal('function'), name: ToolNameSchema }),
  ],
  { error: "tool_choice must be 'none', 'auto', 'required' or {type: 'function', name}" },
);

const TextFormat = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('text') }),
    z.looseObject({ type: z.literal('json_object') }),
    z.looseObject({
      type: z.literal('json_schema'),
      name: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, 'name must be 1-64 letters, digits, underscores or dashes'),
      schema: JsonSchemaObject,
      description: z.string().max(4096).nullish(),
      strict: z.boolean().nullish(),
    }),
  ],
  { error: 'text.format.type must be one of text, json_object, json_schema' },
);

/** Accepted only empty: each asks for something a pod cannot give or a store we do not keep. */
function refused(message: string) {
  return z
    .unknown()
    .refine((value) => value === null || value === undefined || value === false, {
      message,
      params: UNSUPPORTED,
    })
    .optional();
}

export const ResponsesRequestSchema = z
  .looseObject({
    model: z.string().min(1).max(256),
    input: z.union([Text, z.array(ResponsesInputItemSchema).min(1).max(MAX_MESSAGES)], {
      error: 'input must be a string or a list of items',
    }),
    instructions: Text.nullish(),
    max_output_tokens: z.int().min(1).max(10_000_000).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    /** Not OpenAI's for this API, but every pod takes one: a seeded answer repeats. */
    seed: z.int().nullish(),
    stream: z.boolean().nullish(),
    tools: z.array(FunctionTool).max(MAX_TOOLS).nullish(),
    tool_choice: ToolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    text: z.looseObject({ format: TextFormat.nullish() }).nullish(),
    /** A stored response whose conversation this one continues (checked against the store). */
    previous_response_id: ObjectIdSchema.nullish(),
    /** Whether to keep the response for GET /v1/responses/:id and previous_response_id (default true). */
    store: z.boolean().nullish(),
    /** A conversation (`conv_…` or `{id}`) whose items come first, and which the turn is added to. */
    conversation: z
      .union([ObjectIdSchema, z.looseObject({ id: ObjectIdSchema })], {
        error: 'conversation must be a conversation id or {id}',
      })
      .nullish(),
    /** 'auto': the oldest items are left out when the conversation outgrows the model's context. */
    truncation: z.enum(['auto', 'disabled']).nullish(),
    /** Answered at once (`queued`), run detached; read it back with GET /v1/responses/:id. */
    background: z.boolean().nullish(),
    prompt: refused('stored prompt templates are not supported'),
    /** With `include: ["message.output_text.logprobs"]`: the likeliest alternatives at each token. */
    top_logprobs: z.int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
    /** What to add to the answer; of OpenAI's, only the output text's log probabilities exist here. */
    include: z.array(z.string().max(256)).max(32).nullish(),
  })
  .superRefine((body, ctx) => checkItems(body, ctx));

export type ResponsesRequest = z.output<typeof ResponsesRequestSchema>;
export type ResponsesInputItem = z.output<typeof ResponsesInputItemSchema>;

/** What a conversation reads of an item: one of a request's own, or one kept from an earlier response. */
export type ConversationItem =
  | {
      type: 'message';
      role: 'user' | 'system' | 'developer' | 'assistant';
      content: string | ReadonlyArray<{ text: string }>;
    }
  | { type: 'function_call'; call_id: string; name: string; arguments: string }
  | { type: 'function_call_output'; call_id: string; output: string | ReadonlyArray<{ text: string }> };

/**
 * The first function_call_output at or after `from` that answers no function_call before it, as OpenAI
 * refuses one.
 */
export function unansweredOutput(items: readonly ConversationItem[], from = 0): number | undefined {
  const calls = new Set<string>();
  for (const [index, item] of items.entries()) {
    if (item.type === 'function_call') calls.add(item.call_id);
    if (index >= from && item.type === 'function_call_output' && !calls.has(item.call_id)) return index;
  }
  return undefined;
}

export const UNANSWERED_OUTPUT = 'a function_call_output must answer an earlier function_call item';

/**
 * What OpenAI checks across items: each output answers an earlier call, each tool and choice names one.
 * A request continuing a stored response is checked with that response's items, once they are read.
 */
function checkItems(body: ResponsesRequest, ctx: z.RefinementCtx): void {
  checkToolOffer(
    (body.tools ?? []).map((tool) => tool.name),
    body.tool_choice,
    ctx,
    { name: (index) => ['tools', index, 'name'], choice: ['tool_choice', 'name'] },
  );
  if (body.conversation != null && body.previous_response_id != null) {
    ctx.addIssue({
      code: 'custom',
      message: 'previous_response_id and conversation cannot both be given: continue one or the other',
      path: ['conversation'],
    });
  }
  if (typeof body.input === 'string' || body.previous_response_id != null || body.conversation != null)
    return;
  const index = unansweredOutput(body.input);
  if (index !== undefined)
    ctx.addIssue({ code: 'custom', message: UNANSWERED_OUTPUT, path: ['input', index, 'call_id'] });
}

/** The conversation a request names, if any. */
export function conversationIdOf(request: ResponsesRequest): string | undefined {
  const { conversation } = request;
  if (conversation == null) return undefined;
  return typeof conversation === 'string' ? conversation : conversation.id;
}

export const LOGPROBS_INCLUDE = 'message.output_text.logprobs';

/**
 * Whether the answer's text comes with its log probabilities: asked by `include`, or by asking for
 * alternatives (`top_logprobs` above 0), which means as much.
 */
export function asksResponseLogprobs(request: ResponsesRequest): boolean {
  return request.include?.includes(LOGPROBS_INCLUDE) === true || (request.top_logprobs ?? 0) > 0;
}

/** The request's items; a string input is one user message. */
export function requestItems(request: ResponsesRequest): ResponsesInputItem[] {
  return typeof request.input === 'string'
    ? [{ type: 'message', role: 'user', content: request.input }]
    : request.input;
}

export function parseResponsesRequest(body: unknown): Result<ResponsesRequest> {
  return parseWith(ResponsesRequestSchema, body);
}

type Message = ChatCompletionRequest['messages'][number];

const textOf = (content: string | ReadonlyArray<{ text: string }>) =>
  typeof content === 'string' ? content : content.map((part) => part.text).join('');

/**
 * The same request as a chat completion, after the `earlier` items of the response it continues (the
 * instructions first, as OpenAI does not carry an earlier response's over). Function calls join the
 * assistant message before them (or a new one), as chat carries them; a function call output becomes a
 * tool message.
 */
export function responsesAsChat(
  request: ResponsesRequest,
  earlier: readonly ConversationItem[] = [],
): ChatCompletionRequest {
  const messages: Message[] = [];
  if (request.instructions != null && request.instructions !== '') {
    messages.push({ role: 'system', content: request.instructions });
  }
  const items: readonly ConversationItem[] = [...earlier, ...requestItems(request)];
  for (const item of items) {
    if (item.type === 'function_call') {
      const call = {
        id: item.call_id,
        type: 'function' as const,
        function: { name: item.name, arguments: item.arguments },
      };
      const last = messages.at(-1);
      if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call];
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: textOf(item.output) });
    } else {
      messages.push({ role: item.role, content: textOf(item.content) } as Message);
    }
  }
  const format = request.text?.format;
  const chat = {
    model: request.model,
    messages,
    max_tokens: request.max_output_tokens ?? null,
    temperature: request.temperature ?? null,
    top_p: request.top_p ?? null,
    seed: request.seed ?? null,
    truncation: request.truncation ?? null,
    ...(asksResponseLogprobs(request) ? { logprobs: true, top_logprobs: request.top_logprobs ?? 0 } : {}),
    tools: request.tools?.map(({ name, description, parameters }) => ({
      type: 'function' as const,
      function: {
        name,
        ...(description == null ? {} : { description }),
        ...(parameters == null ? {} : { parameters }),
      },
    })),
    parallel_tool_calls: request.parallel_tool_calls ?? null,
    tool_choice:
      request.tool_choice == null || typeof request.tool_choice === 'string'
        ? request.tool_choice
        : { type: 'function' as const, function: { name: request.tool_choice.name } },
    response_format:
      format == null || format.type !== 'json_schema'
        ? format
        : {
            type: 'json_schema' as const,
            json_schema: { name: format.name, schema: format.schema, strict: format.strict },
          },
  };
  // The chat schema's own checks stand behind the conversion; a request that passed the checks above passes.
  const parsed = parseChatCompletionRequest(chat);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}
