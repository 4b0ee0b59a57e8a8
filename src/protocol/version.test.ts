import { describe, expect, it } from 'vitest';
import {
  isSupportedProtocolVersion,
  MIN_SUPPORTED_PROTOCOL_VERSION,
  negotiateProtocolVersion,
  PROTOCOL_VERSION,
} from './version.ts';

describe('protocol version', () => {
  it('supports its own range', () => {
    expect(MIN_SUPPORTED_PROTOCOL_VERSION).toBeLessThanOrEqual(PROTOCOL_VERSION);
    expect(isSupportedProtocolVersion(PROTOCOL_VERSION)).toBe(true);
    expect(isSupportedProtocolVersion(MIN_SUPPORTED_PROTOCOL_VERSION)).toBe(true);
  });

  it('refuses versions outside the range and non-integers', () => {
    expect(isSupportedProtocolVersion(PROTOCOL_VERSION + 1)).toBe(false);
    expect(isSupportedProtocolVersion(MIN_SUPPORTED_PROTOCOL_VERSION - 1)).toBe(false);
    expect(isSupportedProtocolVersion(0)).toBe(false);
    expect(isSupportedProtocolVersion(1.5)).toBe(false);
    expect(isSupportedProtocolVersion(Number.NaN)).toBe(false);
  });

  it('negotiates down to ours when the peer still speaks it', () => {
    expect(negotiateProtocolVersion(PROTOCOL_VERSION)).toBe(PROTOCOL_VERSION);
    expect(negotiateProtocolVersion(PROTOCOL_VERSION + 3, PROTOCOL_VERSION)).toBe(PROTOCOL_VERSION);
  });

  it('finds no version when the peer dropped ours or is too old', () => {
    expect(negotiateProtocolVersion(PROTOCOL_VERSION + 3)).toBeUndefined();
    expect(negotiateProtocolVersion(PROTOCOL_VERSION + 3, PROTOCOL_VERSION + 1)).toBeUndefined();
    expect(negotiateProtocolVersion(MIN_SUPPORTED_PROTOCOL_VERSION - 1)).toBeUndefined();
    expect(negotiateProtocolVersion(Number.NaN)).toBeUndefined();
  });
});
