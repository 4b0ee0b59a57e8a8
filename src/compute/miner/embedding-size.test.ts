// The size of the vectors a node answers: the model's own, or a Matryoshka model's first dimensions.
import { describe, expect, it } from 'vitest';
import { sized } from './job-runner.ts';

const vectors = [
  [3, 4, 12, 0],
  [0, 0, 0, 5],
];

describe('embedding sizes', () => {
  it("answers the model's own size as it is, asked or not", () => {
    expect(sized(vectors, undefined, false)).toBe(vectors);
    expect(sized(vectors, 4, false)).toBe(vectors);
    expect(sized(vectors, 4, true)).toBe(vectors);
  });

  it("gives a Matryoshka model's first dimensions, normalised again to length 1", () => {
    const cut = sized(vectors, 2, true);
    expect(cut[0]).toEqual([0.6, 0.8]);
    // A head of zeros stays zeros rather than dividing by nothing.
    expect(cut[1]).toEqual([0, 0]);
  });

  it('refuses another size of any other model, and more dimensions than any model has', () => {
    expect(() => sized(vectors, 2, false)).toThrow(/4 dimensions, not 2 \(only a Matryoshka model/);
    expect(() => sized(vectors, 8, true)).toThrow(/4 dimensions, not 8$/);
    expect(() => sized(vectors, 2, false)).toThrow(expect.objectContaining({ param: 'dimensions' }));
  });
});
