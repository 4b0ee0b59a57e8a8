// The reverse proxies whose X-Forwarded-For the gateway believes: an address, a CIDR range, or one of
// proxy-addr's names for the private ranges. Anything else is refused up front, not at the first request.
import { isIP } from 'node:net';

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** The value as given, or throws naming what is wrong with it. */
export function parseTrustedProxy(value: string): string {
  const trimmed = value.trim();
  if (NAMED_RANGES.has(trimmed)) return trimmed;
  const [address = '', prefix, extra] = trimmed.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
  if (family === 0 || extra !== undefined || !prefixOk) {
    throw new RangeError(
      `expected an IP address, a CIDR range such as 10.0.0.0/8, or loopback, linklocal or uniquelocal; got ${JSON.stringify(value)}`,
    );
  }
  return trimmed;
}
