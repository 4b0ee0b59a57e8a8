import type {
  Response,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import { newApiId } from './ids.ts';
import type { TokenLogprobOut } from './openai-logprobs.ts';
import type { FinishReason, TokenUsage, ToolCallOut } from './openai-responses.ts';
import { conversationIdOf, type ResponsesRequest } from './openai-responses-api.ts';

/**
 * The Responses API's objects in OpenAI's exact shapes (typed by the official SDK's own types): the
 * response, its output items (the assistant's message, then its function calls) and its usage. The SDK
 * adds `output_text` itself, so it is not sent.
 */

/** OpenAI's response as it is sent: `store` is in OpenAI's answers, not in the SDK's type. */
export type ResponseObject = Omit<Response, 'output_text'> & { store: boolean };
export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete';
/** A response's own status: its items', and those of a background response waiting, failed or cancelled. */
export type ResponseObjectStatus = ResponseStatus | 'queued' | 'failed' | 'cancelled';

export interface ResponseEnvelope {
  id: string;
  model: string;
  /** Unix seconds. */
  createdAt: number;
  request: ResponsesRequest;
  /** Whether the response is kept (asked for, and a store to keep it in). */
  store: boolean;
}

/** A job's answer as output items. */
export interface ResponseAnswer {
  text: string;
  finishReason: FinishReason;
  toolCalls?: readonly ToolCallOut[] | undefined;
  /** When asked: one entry per token of `text`. */
  logprobs?: readonly TokenLogprobOut[] | undefined;
}

/** A text's log probabilities as the output text part carries them. */
export function textLogprobs(entries: readonly TokenLogprobOut[]): ResponseOutputText.Logprob[] {
  return entries.map(({ token, logprob, bytes, top }) => ({
    token,
    logprob,
    bytes,
    top_logprobs: top.map((alt) => ({ token: alt.token, logprob: alt.logprob, bytes: alt.bytes })),
  }));
}

export function responseUsage(usage: TokenUsage): ResponseUsage {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0, cache_write_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

/** Cut by max_output_tokens: the response and its last item are `incomplete`. */
export function statusOf(answer: ResponseAnswer): ResponseStatus {
  return answer.finishReason === 'length' ? 'incomplete' : 'completed';
}

export function messageItem(
  id: string,
  text: string | undefined,
  status: ResponseStatus,
  logprobs?: readonly TokenLogprobOut[],
): ResponseOutputMessage {
  const part: ResponseOutputText | undefined =
    text === undefined
      ? undefined
      : {
          type: 'output_text',
          text,
          annotations: [],
          ...(logprobs === undefined ? {} : { logprobs: textLogprobs(logprobs) }),
        };
  return { id, type: 'message', role: 'assistant', status, content: part === undefined ? [] : [part] };
}

export function functionCallItem(
  id: string,
  call: ToolCallOut,
  status: ResponseStatus,
  args = call.arguments,
): ResponseFunctionToolCall {
  return { id, type: 'function_call', call_id: call.id, name: call.name, arguments: args, status };
}

/**
 * The output of a whole answer: the message when the model said something (or made no call), then one
 * item per call.
 */
export function outputItems(answer: ResponseAnswer): ResponseOutputItem[] {
  const status = statusOf(answer);
  const calls = answer.toolCalls ?? [];
  const items: ResponseOutputItem[] = [];
  if (answer.text !== '' || calls.length === 0)
    items.push(messageItem(newApiId('responseMessage'), answer.text, status, answer.logprobs));
  for (const call of calls) items.push(functionCallItem(newApiId('functionCall'), call, status));
  return items;
}

/** A failed response's error: our registry's stable code (not one of the SDK's list) and message. */
export function responseError(error: { code: string; message: string }): Response['error'] {
  return { code: error.code, message: error.message } as unknown as Response['error'];
}

/** The response object; without usage while it is in progress, with `error` once it failed. */
export function responseObject(
  e: ResponseEnvelope,
  status: ResponseObjectStatus,
  output: ResponseOutputItem[],
  usage?: TokenUsage,
  error?: { code: string; message: string },
): ResponseObject {
  const { request } = e;
  const format = request.text?.format ?? { type: 'text' };
  const conversation = conversationIdOf(request);
  return {
    id: e.id,
    object: 'response',
    created_at: e.createdAt,
    status,
    error: error === undefined ? null : responseError(error),
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    background: request.background === true,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    metadata: metadataOf(request.metadata),
    model: e.model,
    previous_response_id: request.previous_response_id ?? null,
    ...(conversation === undefined ? {} : { conversation: { id: conversation } }),
    store: e.store,
    output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    temperature: request.temperature ?? null,
    top_p: request.top_p ?? null,
    top_logprobs: request.top_logprobs ?? null,
    truncation: request.truncation ?? 'disabled',
    tool_choice: request.tool_choice ?? 'auto',
    tools: (request.tools ?? []).map((tool) => ({
      type: 'function',
      name: tool.name,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      strict: tool.strict ?? null,
    })),
    text: { format: format as NonNullable<Response['text']>['format'] & object },
    ...(usage === undefined ? {} : { usage: responseUsage(usage) }),
  };
}

/** Metadata is echoed back as given when it is OpenAI's: string values under string keys. */
function metadataOf(value: unknown): Record<string, string> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  return entries.every(([, v]) => typeof v === 'string')
    ? (Object.fromEntries(entries) as Record<string, string>)
    : null;
}
