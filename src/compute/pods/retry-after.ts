// How long an upstream asks to be left alone, from its answer's headers. `retry-after` is HTTP's (RFC 9110
// §10.2.3: whole seconds, or a date); `retry-after-ms` is the millisecond form OpenAI's API and its
// clients use, read first when both are sent.

type HeaderValue = string | string[] | undefined;

/** Seconds to wait (fractions from `retry-after-ms`), or undefined when no usable header was sent. */
export function retryAfterSeconds(
  headers: Readonly<Record<string, HeaderValue>>,
  now: number = Date.now(),
): number | undefined {
  const ms = single(headers['retry-after-ms']);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Number(ms) / 1000;
  const value = single(headers['retry-after']);
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  // An HTTP-date names its day and month; Date.parse would also take "-5" or "1.5" as years.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const at = Date.parse(value);
  // A date already past says "now": no wait beyond the router's least pause.
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

function single(value: HeaderValue): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const trimmed = text?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
