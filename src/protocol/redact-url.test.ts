import { describe, expect, it } from 'vitest';
import { redactUrl, redactUrlsIn } from './redact-url.ts';

describe('redactUrl', () => {
  it('masks a password and keeps the user name beside it', () => {
    expect(redactUrl('postgres://u:secret@db:5432/x')).toBe('postgres://u:***@db:5432/x');
  });

  it('masks a user name that stands alone (a token in that place)', () => {
    expect(redactUrl('https://ghp_token123@host/v1')).toBe('https://***@host/v1');
  });

  it('masks every query value, keeping the names', () => {
    expect(redactUrl('postgresql://db/x?password=s3cret&sslmode=require')).toBe(
      'postgresql://db/x?password=***&sslmode=***',
    );
    expect(redactUrl('https://host/chat?api-version=2024-01-01&api-key=zz&api-key=yy')).toBe(
      'https://host/chat?api-version=***&api-key=***',
    );
  });

  it('masks path segments that read as keys (Infura, Alchemy) and keeps names', () => {
    expect(redactUrl('https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161')).toBe(
      'https://mainnet.infura.io/v3/***',
    );
    expect(redactUrl('https://eth-mainnet.g.alchemy.com/v2/AbCdEf123456789xyzAbCdEf')).toBe(
      'https://eth-mainnet.g.alchemy.com/v2/***',
    );
    expect(redactUrl('https://host/openai/deployments/gpt-4o-mini/v1')).toBe(
      'https://host/openai/deployments/gpt-4o-mini/v1',
    );
  });

  it('keeps a plain URL as it is and drops a fragment', () => {
    expect(redactUrl('postgres://db/x')).toBe('postgres://db/x');
    expect(redactUrl('http://127.0.0.1:8545')).toBe('http://127.0.0.1:8545/');
    expect(redactUrl('https://host/v1#secret')).toBe('https://host/v1');
  });

  it('never echoes a string that is not a URL', () => {
    expect(redactUrl('not a url with a s3cret')).toBe('(not a valid URL)');
    expect(redactUrl('')).toBe('(not a valid URL)');
  });
});

describe('redactUrlsIn', () => {
  it('redacts each URL in a text and leaves the words around it', () => {
    expect(
      redactUrlsIn(
        'HTTP request failed.\nURL: https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161\nStatus: 401',
      ),
    ).toBe('HTTP request failed.\nURL: https://mainnet.infura.io/v3/***\nStatus: 401');
    expect(redactUrlsIn('cannot reach postgres://u:pw@db/x, retrying.')).toBe(
      'cannot reach postgres://u:***@db/x, retrying.',
    );
    expect(redactUrlsIn('("ws://127.0.0.1:8080/v1/miners?token=abc")')).toBe(
      '("ws://127.0.0.1:8080/v1/miners?token=***")',
    );
  });

  it('keeps a URL with nothing to hide as it was written', () => {
    expect(redactUrlsIn('the router at http://127.0.0.1:9464 asks for its token')).toBe(
      'the router at http://127.0.0.1:9464 asks for its token',
    );
    expect(redactUrlsIn('see http://h:1/a#frag.')).toBe('see http://h:1/a.');
  });

  it('leaves a text without URLs alone', () => {
    expect(redactUrlsIn('no url here: just a colon')).toBe('no url here: just a colon');
  });
});
