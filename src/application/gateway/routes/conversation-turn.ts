// A response that names a conversation (`conversation`): the conversation's items come before its own,
// and once it has an answer (completed or incomplete), its input and output are added to the conversation
// (before the client sees its end, so a next turn sent at once finds them). A failed one adds nothing.
import type { FastifyBaseLogger } from 'fastify';
import type { Address } from 'viem';
import { FatalError } from '../../../protocol/errors.ts';
import { MAX_MESSAGES } from '../../../protocol/openai.ts';
import { conversationIdOf, type ResponsesRequest } from '../../../protocol/openai-responses-api.ts';
import { type ContextItem, outputContext } from '../../../protocol/openai-responses-api-items.ts';
import type { ResponseObject } from '../../../protocol/openai-responses-api-output.ts';
import type { ConversationStore } from '../ports.ts';
import { checkItemsNew, conversationNotFound } from './conversations.ts';

export interface ConversationTurn {
  /** The conversation's items, before the request's. */
  earlier: ContextItem[];
  /** Adds the turn once answered; a failure to add it is logged, the answer still given. */
  add(response: ResponseObject): Promise<void>;
}

export async function conversationTurn(
  conversations: ConversationStore | undefined,
  body: ResponsesRequest,
  payer: Address,
  items: readonly ContextItem[],
  log: FastifyBaseLogger,
): Promise<ConversationTurn | undefined> {
  const id = conversationIdOf(body);
  if (id === undefined) return undefined;
  if (conversations === undefined) {
    throw new FatalError('unsupported_parameter', {
      message: 'This gateway keeps no conversations: send the whole conversation as input',
      param: 'conversation',
    });
  }
  // More than a request holds is never used: refused as too long, or left out with truncation 'auto'.
  const earlier = await conversations.items(id, payer, MAX_MESSAGES);
  if (earlier === undefined) throw conversationNotFound(id, 'conversation');
  // Against the whole conversation, as items added to it are checked (`earlier` may be its last part).
  await checkItemsNew(conversations, id, payer, items, 'input');
  return {
    earlier,
    add: async (response) => {
      if (response.status !== 'completed' && response.status !== 'incomplete') return;
      try {
        await conversations.add(id, payer, [...items, ...outputContext(response.output)]);
      } catch (error) {
        log.error(
          { err: error, conversation: id, response: response.id },
          'adding a turn to a conversation failed',
        );
      }
    },
  };
}
