import type { ResponseOutputItem, ResponseOutputText } from 'openai/resources/responses/responses';
import { newApiId } from './ids.ts';
import { isObjectId } from './object-id.ts';
import type { ResponsesInputItem } from './openai-responses-api.ts';

/**
 * A stored response's conversation as items: what `previous_response_id` continues and
 * `GET /v1/responses/:id/input_items` lists. Each item has an id and a status, as OpenAI shows them; the
 * same items are valid input, so a response's context is the context of the one it continued, that
 * response's output, then its own input.
 */

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface InputText {
  type: 'input_text';
  text: string;
}

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: ResponseOutputText['annotations'];
}

export interface ContextInputMessage {
  id: string;
  type: 'message';
  role: 'user' | 'system' | 'developer';
  status: ItemStatus;
  content: InputText[];
}

export interface ContextOutputMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  status: ItemStatus;
  content: OutputText[];
}

export interface ContextFunctionCall {
  id: string;
  type: 'function_call';
  call_id: string;
  name: string;
  arguments: string;
  status: ItemStatus;
}

export interface ContextFunctionCallOutput {
  id: string;
  type: 'function_call_output';
  call_id: string;
  output: string | InputText[];
  status: ItemStatus;
}

export type ContextItem =
  | ContextInputMessage
  | ContextOutputMessage
  | ContextFunctionCall
  | ContextFunctionCallOutput;

/** The item's id as the caller gave it when it is one (see isObjectId); else (or none) one of ours. */
function idOf(item: object, fallback: () => string): string {
  const given = (item as { id?: unknown }).id;
  return isObjectId(given) ? given : fallback();
}

const STATUSES: ReadonlySet<unknown> = new Set(['in_progress', 'completed', 'incomplete']);

/** The status an item came with (an earlier output sent back), else completed. */
function statusOf(item: object): ItemStatus {
  const given = (item as { status?: unknown }).status;
  return STATUSES.has(given) ? (given as ItemStatus) : 'completed';
}

const parts = (content: string | ReadonlyArray<{ text: string }>) =>
  typeof content === 'string' ? [content] : content.map((part) => part.text);

/** A request's items as they are kept: with ids, text content in parts of the role's kind. */
export function contextOf(items: readonly ResponsesInputItem[]): ContextItem[] {
  return items.map((item): ContextItem => {
    const status = statusOf(item);
    if (item.type === 'function_call') {
      const { call_id, name, arguments: args } = item;
      const id = idOf(item, () => newApiId('functionCall'));
      return { id, type: 'function_call', call_id, name, arguments: args, status };
    }
    if (item.type === 'function_call_output') {
      const output =
        typeof item.output === 'string'
          ? item.output
          : parts(item.output).map((text) => ({ type: 'input_text' as const, text }));
      const id = idOf(item, () => newApiId('functionCallOutput'));
      return { id, type: 'function_call_output', call_id: item.call_id, output, status };
    }
    const id = idOf(item, () => newApiId('responseMessage'));
    if (item.role === 'assistant') {
      const content = parts(item.content).map((text) => ({
        type: 'output_text' as const,
        text,
        annotations: [],
      }));
      return { id, type: 'message', role: 'assistant', status, content };
    }
    const content = parts(item.content).map((text) => ({ type: 'input_text' as const, text }));
    return { id, type: 'message', role: item.role, status, content };
  });
}

/** A response's output as items of the conversation that continues it. */
export function outputContext(output: readonly ResponseOutputItem[]): ContextItem[] {
  const items: ContextItem[] = [];
  for (const item of output) {
    if (item.type === 'function_call') {
      const { call_id, name, arguments: args } = item;
      const status = item.status ?? 'completed';
      items.push({
        id: item.id ?? newApiId('functionCall'),
        type: 'function_call',
        call_id,
        name,
        arguments: args,
        status,
      });
    } else if (item.type === 'message') {
      const content = item.content.flatMap((part) =>
        part.type === 'output_text'
          ? [{ type: 'output_text' as const, text: part.text, annotations: [] }]
          : [],
      );
      items.push({ id: item.id, type: 'message', role: 'assistant', status: item.status, content });
    }
  }
  return items;
}
