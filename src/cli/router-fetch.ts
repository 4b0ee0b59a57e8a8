// One request from the command line to a router's HTTP port, failing in words: fetch itself says only
// "fetch failed", the reason (ECONNREFUSED, a DNS failure, a timeout) is its cause.
import { RetryableError } from '../protocol/errors.ts';

export async function fetchRouter(url: string | URL, init: RequestInit, shownAs: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? String(error);
    throw new RetryableError('service_unavailable', {
      message: `cannot reach the ${shownAs}: ${cause}`,
      cause: error,
    });
  }
}
