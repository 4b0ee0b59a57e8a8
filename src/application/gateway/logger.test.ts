import { describe, expect, it } from 'vitest';
import { createLogger, serializeError } from './logger.ts';

const INFURA = 'https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161';

/** The router's logger with its lines kept, parsed (as protocol/testing/capture-logger.ts does for pino). */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = { write: (line: string) => lines.push(JSON.parse(line)) };
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('createLogger', () => {
  it('redacts the URLs inside a logged error, its stack and its cause', () => {
    const { lines, logger } = capture();
    const cause = new Error(`fetch failed for postgres://u:pw@db/x?password=pw2`);
    const error = new Error(`HTTP request failed.\n\nURL: ${INFURA}\nRequest body: {}`, { cause });
    logger.error({ err: error }, 'chain call failed');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('9aa3d95b3bc440fa88ea12eaa4456161');
    expect(text).not.toMatch(/pw2|:pw@/);
    expect(lines[0]?.err).toMatchObject({ type: 'Error', message: expect.stringContaining('/v3/***') });
  });

  it('keeps the error shape and redacts keys logged by name', () => {
    const { lines, logger } = capture();
    logger.warn({ err: new TypeError('bad'), apiKey: 'nrn_secret', headers: { authorization: 'Bearer x' } });
    expect(lines[0]).toMatchObject({
      apiKey: '[redacted]',
      headers: { authorization: '[redacted]' },
      err: { type: 'TypeError', message: 'bad', stack: expect.stringContaining('TypeError: bad') },
    });
  });
});

describe('serializeError', () => {
  it('redacts a value that is not an Error too', () => {
    expect(serializeError(`cannot reach ${INFURA}.`)).toBe('cannot reach https://mainnet.infura.io/v3/***.');
    expect(serializeError(undefined)).toBeUndefined();
  });

  it('walks the extra fields clients put on errors (viem: metaMessages, details)', () => {
    const error = Object.assign(new Error('failed'), { metaMessages: [`URL: ${INFURA}`], details: 'x' });
    expect(serializeError(error)).toMatchObject({ metaMessages: ['URL: https://mainnet.infura.io/v3/***'] });
  });
});
