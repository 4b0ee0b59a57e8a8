// A response continuing a stored one (`previous_response_id`): the stored response's conversation and its
// output come before the request's items, and the whole is checked as OpenAI checks one request.
import type { Address } from 'viem';
import { FatalError } from '../../../protocol/errors.ts';
import { MAX_MESSAGES } from '../../../protocol/openai.ts';
import { UNANSWERED_OUTPUT, unansweredOutput } from '../../../protocol/openai-responses-api.ts';
import { type ContextItem, outputContext } from '../../../protocol/openai-responses-api-items.ts';
import type { ResponseStore } from '../ports.ts';

export function responseNotFound(id: string, param: string): FatalError {
  return new FatalError('response_not_found', {
    message: `No response ${JSON.stringify(id.slice(0, 128))}: none of your account's stored responses has that id (responses sent with store: false are not kept, and stored ones for 30 days by default)`,
    param,
  });
}

/** The items a continuation comes after; none without `previousId`. */
export async function earlierContext(
  stored: ResponseStore | undefined,
  previousId: string | null | undefined,
  payer: Address,
): Promise<ContextItem[]> {
  if (previousId == null) return [];
  if (stored === undefined) {
    throw new FatalError('unsupported_parameter', {
      message: 'This gateway keeps no responses: send the whole conversation as input',
      param: 'previous_response_id',
    });
  }
  const previous = await stored.find(previousId, payer);
  if (previous === undefined) throw responseNotFound(previousId, 'previous_response_id');
  return [...previous.context, ...outputContext(previous.response.output)];
}

/**
 * The earlier items a continuation reads: refused when a function_call_output answers no call, or when
 * it grows past a request's size, unless `truncation` is 'auto': then its oldest earlier items are left
 * out (and outputs whose calls went with them). `from` names what the earlier items came from.
 */
export function checkContinuation(
  earlier: readonly ContextItem[],
  items: readonly ContextItem[],
  from: 'previous_response_id' | 'conversation' = 'previous_response_id',
  truncation: 'auto' | 'disabled' = 'disabled',
): readonly ContextItem[] {
  if (earlier.length === 0) return earlier;
  // One message is left for the instructions.
  const over = earlier.length + items.length - (MAX_MESSAGES - 1);
  if (truncation === 'auto' && over > 0) earlier = withoutOldestItems(earlier, over);
  const all = [...earlier, ...items];
  const source = from === 'conversation' ? 'the conversation' : "the previous response's conversation";
  const index = unansweredOutput(all, earlier.length);
  if (index !== undefined) {
    throw new FatalError('invalid_request', {
      message: `${UNANSWERED_OUTPUT} (in input or ${source})`,
      param: `input[${index - earlier.length}].call_id`,
    });
  }
  if (all.length > MAX_MESSAGES - 1) {
    throw new FatalError('invalid_request', {
      message: `The conversation would have ${all.length} items with those of ${source}, more than ${MAX_MESSAGES - 1}: start a new one`,
      param: from,
    });
  }
  return earlier;
}

/** `count` of the oldest items left out, and function call outputs left without their calls. */
function withoutOldestItems(items: readonly ContextItem[], count: number): ContextItem[] {
  let from = count;
  while (from < items.length && items[from]?.type === 'function_call_output') from++;
  return items.slice(from);
}
