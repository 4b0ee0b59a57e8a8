// The Responses API's stored responses: GET /v1/responses/:id, DELETE /v1/responses/:id and
// GET /v1/responses/:id/input_items, each for the caller's credit account only (anyone else's response
// is answered as missing).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { FatalError } from '../../../protocol/errors.ts';
import type { ContextItem } from '../../../protocol/openai-responses-api-items.ts';
import { parseWith } from '../../../protocol/schema-errors.ts';
import { principalOf } from '../auth.ts';
import { parsedOrThrow } from '../context.ts';
import { IncludeFields, listPage, PageLimit } from '../list-page.ts';
import type { ResponseStore } from '../ports.ts';
import type { BackgroundResponses } from './background-response.ts';
import { responseNotFound } from './response-history.ts';
import { streamKeptResponse } from './stored-response-stream.ts';

const RetrieveQuery = z
  .looseObject({
    stream: z.enum(['true', 'false']).optional(),
    starting_after: z.coerce.number().int().min(0).optional(),
    ...IncludeFields,
  })
  .refine((query) => query.starting_after === undefined || query.stream === 'true', {
    message: 'starting_after applies to a stream: set stream=true',
    path: ['starting_after'],
  });

const ItemsQuery = z.strictObject({
  limit: PageLimit,
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().max(128).optional(),
  before: z.string().max(128).optional(),
  ...IncludeFields,
});

type IdParams = { Params: { id: string } };

export function storedResponseRoutes(
  app: FastifyInstance,
  stored: ResponseStore,
  backgrounds: BackgroundResponses,
): void {
  const found = async (id: string, account: Parameters<ResponseStore['find']>[1]) => {
    const response = await stored.find(id, account);
    if (response === undefined) throw responseNotFound(id, 'id');
    return response;
  };

  app.get<IdParams>('/v1/responses/:id', async (request, reply) => {
    const query = parsedOrThrow(parseWith(RetrieveQuery, request.query));
    const { id } = request.params;
    const { account } = principalOf(request);
    const kept = await found(id, account);
    if (query.stream !== 'true') return backgrounds.current(id, account, kept);
    const startingAfter = query.starting_after;
    return streamKeptResponse({ id, account, kept, startingAfter, reply, stored, backgrounds });
  });

  // A cancelled one is answered again, as the jobs API does.
  app.post<IdParams>('/v1/responses/:id/cancel', async (request) => {
    const { id } = request.params;
    const { account } = principalOf(request);
    return backgrounds.cancel(id, account, await found(id, account));
  });

  app.delete<IdParams>('/v1/responses/:id', async (request) => {
    const { id } = request.params;
    if (!(await stored.remove(id, principalOf(request).account))) throw responseNotFound(id, 'id');
    return { id, object: 'response', deleted: true };
  });

  app.get<IdParams>('/v1/responses/:id/input_items', async (request) => {
    const query = parsedOrThrow(parseWith(ItemsQuery, request.query));
    const { context } = await found(request.params.id, principalOf(request).account);
    const items = query.order === 'asc' ? context : [...context].reverse();
    const start = query.after === undefined ? 0 : cursorIndex(items, query.after, 'after') + 1;
    const end = query.before === undefined ? items.length : cursorIndex(items, query.before, 'before');
    // One more than the page: whether a next one exists.
    return listPage(
      items.slice(start, Math.max(start, end)).slice(0, query.limit + 1),
      query.limit,
      (item) => item,
    );
  });
}

function cursorIndex(items: readonly ContextItem[], id: string, param: 'after' | 'before'): number {
  const index = items.findIndex((item) => item.id === id);
  if (index === -1) {
    throw new FatalError('invalid_request', {
      message: `${param}: the response has no input item ${JSON.stringify(id)}`,
      param,
    });
  }
  return index;
}
