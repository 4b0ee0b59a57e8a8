import { maxUint256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AddressSchema,
  Bytes32Schema,
  IdentifierSchema,
  JsonValueSchema,
  SignatureSchema,
  TimestampMsSchema,
  Uint256Schema,
} from './scalars.ts';

const CHECKSUMMED = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

describe('AddressSchema', () => {
  it('accepts lower case and checksummed, decoding to the checksum', () => {
    expect(AddressSchema.parse(CHECKSUMMED.toLowerCase())).toBe(CHECKSUMMED);
    expect(AddressSchema.parse(CHECKSUMMED)).toBe(CHECKSUMMED);
  });

  it('refuses a wrong checksum, wrong lengths and non-hex', () => {
    const wrongCase = CHECKSUMMED.replace('C51', 'c51');
    for (const bad of [
      wrongCase,
      '0x1234',
      `${CHECKSUMMED}00`,
      CHECKSUMMED.slice(2),
      `0x${'g'.repeat(40)}`,
      42,
      null,
    ]) {
      expect(AddressSchema.safeParse(bad).success, String(bad)).toBe(false);
    }
  });

  it('says what an address looks like', () => {
    const result = AddressSchema.safeParse('0xnope');
    expect(result.error?.issues[0]?.message).toMatch(/40 hex digits/);
  });
});

describe('Bytes32Schema and SignatureSchema', () => {
  it('normalise to lower case', () => {
    expect(Bytes32Schema.parse(`0x${'AB'.repeat(32)}`)).toBe(`0x${'ab'.repeat(32)}`);
    expect(SignatureSchema.parse(`0x${'CD'.repeat(65)}`)).toBe(`0x${'cd'.repeat(65)}`);
  });

  it('refuse other lengths and shapes', () => {
    for (const bad of [
      `0x${'a'.repeat(63)}`,
      `0x${'a'.repeat(65)}`,
      'a'.repeat(66),
      `0X${'a'.repeat(64)}`,
      '',
      7,
    ]) {
      expect(Bytes32Schema.safeParse(bad).success, String(bad)).toBe(false);
    }
    expect(SignatureSchema.safeParse(`0x${'a'.repeat(128)}`).success).toBe(false);
  });

  it('refuse a huge string without scanning it as hex', () => {
    expect(Bytes32Schema.safeParse(`0x${'a'.repeat(10_000_000)}`).success).toBe(false);
  });
});

describe('Uint256Schema', () => {
  it('decodes decimal strings to bigint and encodes back', () => {
    expect(Uint256Schema.parse('0')).toBe(0n);
    expect(Uint256Schema.parse('1000000000000000000')).toBe(10n ** 18n);
    expect(Uint256Schema.parse(maxUint256.toString())).toBe(maxUint256);
    expect(z.encode(Uint256Schema, 12345n)).toBe('12345');
  });

  it('refuses signs, leading zeros, decimals, numbers and overflow', () => {
    for (const bad of [
      '-1',
      '01',
      '1.5',
      '1e3',
      ' 1',
      '',
      '0x10',
      5,
      5n,
      (maxUint256 + 1n).toString(),
      '9'.repeat(79),
    ]) {
      expect(Uint256Schema.safeParse(bad).success, String(bad)).toBe(false);
    }
  });

  it('refuses to encode a negative bigint', () => {
    expect(z.safeEncode(Uint256Schema, -1n).success).toBe(false);
  });
});

describe('other scalars', () => {
  it('TimestampMsSchema takes non-negative safe integers', () => {
    expect(TimestampMsSchema.safeParse(1_700_000_000_000).success).toBe(true);
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 2, '1', Number.NaN]) {
      expect(TimestampMsSchema.safeParse(bad).success, String(bad)).toBe(false);
    }
  });

  it('IdentifierSchema takes short printable names', () => {
    expect(IdentifierSchema.safeParse('router-1.eu:a_b').success).toBe(true);
    for (const bad of ['', 'a b', 'x'.repeat(65), 'é', '<script>']) {
      expect(IdentifierSchema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('JsonValueSchema takes JSON and refuses absent values and hostile depth', () => {
    expect(JsonValueSchema.safeParse({ a: [1] }).success).toBe(true);
    expect(JsonValueSchema.safeParse(null).success).toBe(true);
    expect(JsonValueSchema.safeParse(undefined).success).toBe(false);
    expect(JsonValueSchema.safeParse(JSON.parse(`${'['.repeat(1000)}${']'.repeat(1000)}`)).success).toBe(
      false,
    );
  });
});
