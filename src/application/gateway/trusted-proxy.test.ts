import { describe, expect, it } from 'vitest';
import { parseTrustedProxy } from './trusted-proxy.ts';

describe('parseTrustedProxy', () => {
  it.each(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '192.168.1.0/24', 'loopback', 'uniquelocal'])(
    'takes %s',
    (value) => expect(parseTrustedProxy(value)).toBe(value),
  );

  it.each(['', 'proxy.example', '10.0.0.0/33', '::/129', '10.0.0.1/8/8', '10.0.0.0/', '999.1.1.1', 'true'])(
    'refuses %j',
    (value) => expect(() => parseTrustedProxy(value)).toThrow(/expected an IP address, a CIDR range/),
  );
});
