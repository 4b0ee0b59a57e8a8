import { describe, expect, it } from 'vitest';
import { canonicalJson, isBoundedJson, MAX_JSON_DEPTH } from './canonical-json.ts';
import { NeurinoError } from './errors.ts';

function nested(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('canonicalJson', () => {
  it('sorts keys at every level and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same text for the same value built in another order', () => {
    expect(canonicalJson({ x: 1, y: [1, 2] })).toBe(canonicalJson({ y: [1, 2], x: 1 }));
  });

  it('writes scalars as JSON does (RFC 8785 number form)', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson('é"\n')).toBe('"é\\"\\n"');
    expect(canonicalJson(1e21)).toBe('1e+21');
    expect(canonicalJson(0.1)).toBe('0.1');
    expect(canonicalJson(-0)).toBe('0');
  });

  it('sorts keys by UTF-16 code units', () => {
    expect(canonicalJson({ b: 0, B: 0, a: 0, '€': 0, '1': 0 })).toBe('{"1":0,"B":0,"a":0,"b":0,"€":0}');
  });

  it('omits undefined object members like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('refuses values JSON cannot carry, naming where', () => {
    const cases: Array<[unknown, string]> = [
      [{ a: [1, Number.NaN] }, '$.a[1]'],
      [{ a: Number.POSITIVE_INFINITY }, '$.a'],
      [{ a: 1n }, '$.a'],
      [[undefined], '$[0]'],
      [{ f: () => 1 }, '$.f'],
      [{ d: new Date(0) }, '$.d'],
      [{ m: new Map() }, '$.m'],
      [Symbol('s'), '$'],
    ];
    for (const [value, path] of cases) {
      try {
        canonicalJson(value);
        expect.unreachable(String(path));
      } catch (error) {
        expect(error).toBeInstanceOf(NeurinoError);
        expect((error as NeurinoError).code).toBe('invalid_request');
        expect((error as NeurinoError).param).toBe(path);
      }
    }
  });

  it('refuses holes in sparse arrays', () => {
    // biome-ignore lint/suspicious/noSparseArray: the case under test
    expect(() => canonicalJson([1, , 2])).toThrow(NeurinoError);
  });

  it('refuses nesting beyond the limit and cycles instead of overflowing the stack', () => {
    expect(() => canonicalJson(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => canonicalJson(nested(MAX_JSON_DEPTH + 1))).toThrow(/deeper than/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(/deeper than/);
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.k = 1;
    expect(canonicalJson(bare)).toBe('{"k":1}');
  });
});

describe('isBoundedJson', () => {
  it('agrees with canonicalJson on the depth limit', () => {
    expect(isBoundedJson(nested(MAX_JSON_DEPTH))).toBe(true);
    expect(isBoundedJson(nested(MAX_JSON_DEPTH + 1))).toBe(false);
  });

  it('handles hostile depth without recursion', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(isBoundedJson(deep)).toBe(false);
  });

  it('accepts plain JSON and refuses the rest', () => {
    expect(isBoundedJson({ a: [1, 'x', null, true, { b: 2 }] })).toBe(true);
    expect(isBoundedJson(undefined)).toBe(false);
    expect(isBoundedJson(Number.NaN)).toBe(false);
    expect(isBoundedJson(1n)).toBe(false);
    expect(isBoundedJson({ a: new Date() })).toBe(false);
    expect(isBoundedJson({ a: undefined })).toBe(true);
  });
});
