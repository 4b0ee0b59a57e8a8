// One page of a list as OpenAI answers them (`object: "list"`, `first_id`, `last_id`, `has_more`), from
// the items read with one more than the page holds: that one only says a next page exists.
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
