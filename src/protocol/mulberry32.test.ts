import { describe, expect, it } from 'vitest';
import { mulberry32 } from './mulberry32.ts';

describe('mulberry32', () => {
  it("gives the reference sequence (the generator's published outputs for seed 1)", () => {
    const next = mulberry32(1);
    expect([next(), next(), next()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });

  it('stays in [0, 1) and repeats for the same seed', () => {
    const a = mulberry32(0xffffffff);
    const b = mulberry32(0xffffffff);
    for (let i = 0; i < 10_000; i++) {
      const value = a();
      expect(value).toBe(b());
      expect(value >= 0 && value < 1).toBe(true);
    }
  });

  it('refuses a seed that is not a uint32', () => {
    for (const seed of [-1, 0.5, 2 ** 32, Number.NaN]) expect(() => mulberry32(seed)).toThrow(RangeError);
  });
});
