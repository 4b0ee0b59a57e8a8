// Tests only: the errors an answer carries, as the fields a test compares.
import OpenAI from 'openai';

export async function apiErrorOf(promise: Promise<unknown>): Promise<{
  status: number | undefined;
  code: string | null | undefined;
  param: string | null | undefined;
}> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof OpenAI.APIError))
    throw new Error(`expected the client to throw an APIError, got ${String(error)}`);
  const { status, code, param } = error;
  return { status, code, param };
}

/** Error codes seen in a raw answer: an error answer's, and any in a stream's events. */
export function errorCodesIn(body: string): string[] {
  return [...body.matchAll(/"code":"([a-z_]+)"/g)].map((m) => m[1] as string);
}
