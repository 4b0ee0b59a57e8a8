// mulberry32: a small seeded generator of uniform numbers in [0, 1). Integer operations only, so a seed
// gives the same sequence on every platform: the tiny model's weights, replayable fuzz cases, benchmarks.

/** Uniform numbers in [0, 1) from a uint32 seed. */
export function mulberry32(seed: number): () => number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError('seed must be a uint32');
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
