// Integer-only PRNG (mulberry32) and an Irwin–Hall normal approximation: no transcendental functions,
// so the same seed gives bit-identical weights on every platform and JS engine.
import { mulberry32 } from '../../protocol/mulberry32.ts';

export interface SeededRandom {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Approximately standard normal (sum of four uniforms, rescaled). */
  normal(): number;
}

export function seededRandom(seed: number): SeededRandom {
  const uniform = mulberry32(seed);
  // The sum of four U(0,1) has mean 2 and variance 4/12.
  const normal = (): number => (uniform() + uniform() + uniform() + uniform() - 2) * Math.sqrt(3);
  return { uniform, normal };
}
