import { z } from 'zod';
import { JsonSchemaObject } from './openai-features.ts';

/**
 * Tool calling in OpenAI's shape: the `tools` a caller offers, its `tool_choice`, the calls an assistant
 * message made and the `tool` messages that answer them. A pod answers with at most the calls it chose;
 * the caller runs them and sends their results back in the next request.
 */

export const MAX_TOOLS = 128;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const NAME_ERROR = 'name must be 1-64 letters, digits, underscores or dashes';

export const ToolNameSchema = z.string().regex(NAME, NAME_ERROR);
/** Call ids are the model's or the caller's; OpenAI's look like `call_…`. */
export const ToolCallIdSchema = z.string().min(1).max(256);

const FunctionToolSchema = z.looseObject({
  type: z.literal('function', { error: 'only function tools are supported' }),
  function: z.looseObject({
    name: ToolNameSchema,
    description: z.string().max(8192).optional(),
    parameters: JsonSchemaObject.optional(),
    strict: z.boolean().nullish(),
  }),
});

export const ToolsSchema = z.array(FunctionToolSchema).max(MAX_TOOLS).nullish();

export const ToolChoiceSchema = z
  .union(
    [
      z.enum(['none', 'auto', 'required']),
      z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: ToolNameSchema }) }),
    ],
    { error: "tool_choice must be 'none', 'auto', 'required' or {type: 'function', function: {name}}" },
  )
  .nullish();

/** A call as an assistant message carries it; `arguments` is JSON text, as the model wrote it. */
export const ToolCallSchema = z.looseObject({
  id: ToolCallIdSchema,
  type: z.literal('function', { error: 'only function tool calls are supported' }),
  function: z.looseObject({ name: ToolNameSchema, arguments: z.string().max(1_000_000) }),
});

export const ToolCallsSchema = z.array(ToolCallSchema).max(MAX_TOOLS);

export type Tools = z.output<typeof ToolsSchema>;
export type ToolChoice = z.output<typeof ToolChoiceSchema>;
export type ToolCall = z.output<typeof ToolCallSchema>;

/** What a pod receives of the tools: each one's name, description and parameter schema. */
export interface PodTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export type PodToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/** The tools and choice a pod receives; nothing when none were offered. */
export function podTools(request: {
  tools?: Tools;
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean | null | undefined;
}): { tools: PodTool[]; tool_choice: PodToolChoice; parallel_tool_calls?: false } | undefined {
  const { tools, tool_choice: choice } = request;
  if (tools == null || tools.length === 0) return undefined;
  return {
    // Sent only to forbid, as the pods' default is OpenAI's (several calls allowed).
    ...(request.parallel_tool_calls === false ? { parallel_tool_calls: false as const } : {}),
    tools: tools.map(({ function: f }) => ({
      type: 'function',
      function: {
        name: f.name,
        ...(f.description === undefined ? {} : { description: f.description }),
        ...(f.parameters === undefined ? {} : { parameters: f.parameters }),
      },
    })),
    tool_choice:
      choice == null || typeof choice === 'string'
        ? (choice ?? 'auto')
        : { type: 'function', function: { name: choice.function.name } },
  };
}

/** A call as it travels to a pod: the OpenAI fields, nothing else. */
export function podToolCall(call: ToolCall): ToolCall {
  return {
    id: call.id,
    type: 'function',
    function: { name: call.function.name, arguments: call.function.arguments },
  };
}

interface ToolFields {
  tools?: Tools | undefined;
  tool_choice?: ToolChoice | undefined;
  messages: ReadonlyArray<{
    role: string;
    tool_calls?: ToolCall[] | null | undefined;
    tool_call_id?: string | undefined;
  }>;
}

/**
 * Checks across fields, as OpenAI makes them: tool names are distinct, a forced choice names an offered
 * tool, and each `tool` message answers a call an earlier assistant message made.
 */
export function checkToolFields(body: ToolFields, ctx: z.RefinementCtx): void {
  const choice = body.tool_choice;
  checkToolOffer(
    (body.tools ?? []).map((tool) => tool.function.name),
    choice != null && typeof choice === 'object' ? { name: choice.function.name } : choice,
    ctx,
    { name: (index) => ['tools', index, 'function', 'name'], choice: ['tool_choice', 'function', 'name'] },
  );
  const calls = new Set<string>();
  for (const [index, message] of body.messages.entries()) {
    for (const call of message.tool_calls ?? []) calls.add(call.id);
    if (message.role === 'tool' && !calls.has(message.tool_call_id ?? '')) {
      issue(
        ctx,
        ['messages', index, 'tool_call_id'],
        'a tool message must answer a call of an earlier assistant message',
      );
    }
  }
}

/**
 * Tool names are distinct and a forced choice names an offered tool; `at` says where a tool's name and a
 * named choice sit in the request (chat and the Responses API nest them differently).
 */
export function checkToolOffer(
  names: readonly string[],
  choice: string | { name: string } | null | undefined,
  ctx: z.RefinementCtx,
  at: { name: (index: number) => PropertyKey[]; choice: PropertyKey[] },
): void {
  const offered = new Set<string>();
  for (const [index, name] of names.entries()) {
    if (offered.has(name)) issue(ctx, at.name(index), `tool ${name} is offered twice`);
    offered.add(name);
  }
  if (choice === 'required' && offered.size === 0) {
    issue(ctx, ['tool_choice'], "tool_choice 'required' needs tools");
  } else if (choice != null && typeof choice === 'object' && !offered.has(choice.name)) {
    issue(ctx, at.choice, `no tool named ${choice.name} is offered`);
  }
}

function issue(ctx: z.RefinementCtx, path: PropertyKey[], message: string): void {
  ctx.addIssue({ code: 'custom', message, path });
}
