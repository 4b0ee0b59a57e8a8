import { describe, expect, it } from 'vitest';
import { NeurinoError } from './errors.ts';
import { computeUnits, formatNeu, maxPriceFor, parseNeu, priceFor, shareOf } from './units.ts';

describe('computeUnits = ceil(gpuMs × vramMiB / 1024)', () => {
  it('is GPU milliseconds × VRAM GiB', () => {
    expect(computeUnits(1000, 1024)).toBe(1000n);
    expect(computeUnits(1000, 8192)).toBe(8000n);
    expect(computeUnits(250, 512)).toBe(125n);
  });

  it('rounds partial units up, so real work costs at least one unit', () => {
    expect(computeUnits(1, 1)).toBe(1n);
    expect(computeUnits(3, 513)).toBe(2n);
    expect(computeUnits(0, 80_000)).toBe(0n);
    expect(computeUnits(1000, 0)).toBe(0n);
  });

  it('stays exact beyond 2^53', () => {
    const ms = 2n ** 40n;
    expect(computeUnits(ms, 81_920n)).toBe(ms * 80n);
  });

  it('refuses negative, fractional and unsafe numbers', () => {
    for (const [ms, mib] of [
      [-1, 1],
      [1, -1],
      [1.5, 1],
      [Number.NaN, 1],
      [Number.MAX_SAFE_INTEGER + 1, 1],
    ] as const) {
      expect(() => computeUnits(ms, mib), `${ms} ${mib}`).toThrow(NeurinoError);
    }
    expect(() => computeUnits(-1n, 1n)).toThrow(/must not be negative/);
  });
});

describe('prices', () => {
  it('priceFor multiplies units by wei per unit', () => {
    expect(priceFor(8000n, 10n ** 9n)).toBe(8n * 10n ** 12n);
    expect(() => priceFor(-1n, 1n)).toThrow(NeurinoError);
  });

  it('maxPriceFor prices the whole timeout on the pod’s memory', () => {
    expect(maxPriceFor({ timeoutMs: 60_000, vramMiB: 2048, pricePerUnit: 5n })).toBe(600_000n);
  });

  it('shareOf takes basis points, rounding down', () => {
    expect(shareOf(10_000n, 2500)).toBe(2500n);
    expect(shareOf(999n, 1)).toBe(0n);
    expect(shareOf(1000n, 10_000)).toBe(1000n);
    expect(() => shareOf(1000n, 10_001)).toThrow(/bps above/);
    expect(() => shareOf(1000n, -1)).toThrow(NeurinoError);
  });

  it('formats and parses NEU amounts', () => {
    expect(formatNeu(1_500_000_000_000_000_000n)).toBe('1.5');
    expect(parseNeu('1.5')).toBe(1_500_000_000_000_000_000n);
    expect(parseNeu('0.000000000000000001')).toBe(1n);
    for (const bad of ['', '-1', '1.', '.5', '1e18', '1.0000000000000000001', 'abc', '1,5']) {
      expect(() => parseNeu(bad), bad).toThrow(NeurinoError);
    }
  });
});
