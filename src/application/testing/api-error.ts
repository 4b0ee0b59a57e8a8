// Tests only: what the official client threw for a refused request, as the fields a test compares.
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
