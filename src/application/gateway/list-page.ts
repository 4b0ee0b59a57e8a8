// One page of a list as OpenAI answers them (`object: "list"`, `first_id`, `last_id`, `has_more`), from
// the items read with one more than the page holds: that one only says a next page exists.
import { z } from 'zod';

/** OpenAI's page size: 1 to 100, 20 by default. */
export const PageLimit = z.coerce.number().int().min(1).max(100).default(20);

const Include = z.union([z.string(), z.array(z.string())]).optional();
/**
 * `include` (or `include[]`, as some clients write it) asks for output this network never makes (search
 * results, images, logprobs): accepted, as there is nothing to add.
 */
export const IncludeFields = { include: Include, 'include[]': Include };
export interface ListPage<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export function listPage<I, T extends { id: string }>(
  readOneMore: readonly I[],
  limit: number,
  shown: (item: I) => T,
): ListPage<T> {
  const data = readOneMore.slice(0, limit).map(shown);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: readOneMore.length > limit,
  };
}
