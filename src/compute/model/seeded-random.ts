// Integer-only PRNG (mulberry32) and an Irwin–Hall normal approximation: no transcendental functions,
// so the same seed gives bit-identical weights on every platform and JS engine.

export interface SeededRandom {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Approximately standard normal (sum of four uniforms, rescaled). */
  normal(): number;
}

export function seededRandom(seed: number): SeededRandom {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError('seed must be a uint32');
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // The sum of four U(0,1) has mean 2 and variance 4/12.
  const normal = (): number => (uniform() + uniform() + uniform() + uniform() - 2) * Math.sqrt(3);
  return { uniform, normal };
}
