// One rule for every URL an operator gives us (chain RPC, PostgreSQL, an upstream model server, a
// router) before it reaches a message or a log: such URLs carry secrets in several places (a password,
// a token as the user name, an API key as a path segment as Infura and Alchemy do, `?password=` or
// `?api-key=` in the query), so each of those is masked and the rest kept for diagnosis.

/** A path segment this long that mixes letters and digits reads as a key rather than a name. */
const KEY_LIKE_SEGMENT = /^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_-]{16,}$/;

const MASK = '***';

/**
 * `url` fit for messages and logs: password masked (a user name alone is masked too, being a token in
 * that form), every query value masked, key-like path segments masked, the fragment dropped. A string
 * that is not a URL is not echoed at all.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(not a valid URL)';
  }
  if (parsed.password !== '') parsed.password = MASK;
  else if (parsed.username !== '') parsed.username = MASK;
  for (const name of new Set(parsed.searchParams.keys())) parsed.searchParams.set(name, MASK);
  parsed.pathname = parsed.pathname
    .split('/')
    .map((segment) => (KEY_LIKE_SEGMENT.test(segment) ? MASK : segment))
    .join('/');
  parsed.hash = '';
  // searchParams escapes the mask; the asterisks are what a reader should see.
  return parsed.toString().replaceAll('%2A%2A%2A', MASK);
}

/** A URL inside free text: a scheme, `://`, then up to whitespace, a quote or a bracket. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()[\]{}`]+/gi;

/** `text` with every URL in it redacted as `redactUrl` does (error messages of HTTP and RPC clients). */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => {
    // A sentence's own full stop or comma after the URL is not part of it.
    const trailing = /[.,;:!?]+$/.exec(url)?.[0] ?? '';
    const bare = url.slice(0, url.length - trailing.length);
    const redacted = redactUrl(bare);
    if (redacted === '(not a valid URL)') return `(URL)${trailing}`;
    // Nothing to hide: the URL as written (URL's own form would add a `/` after a bare host).
    return `${redacted === new URL(bare).toString() ? bare : redacted}${trailing}`;
  });
}
