import { concat, type Hex, keccak256, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { NeurinoError } from './errors.ts';
import { hashPair, MerkleTree, merkleRoot, verifyMerkleProof } from './merkle.ts';

const leaves = (n: number): Hex[] => Array.from({ length: n }, (_, i) => keccak256(toHex(`receipt-${i}`)));

describe('Merkle tree', () => {
  it('hashes pairs sorted, as OpenZeppelin’s MerkleProof does', () => {
    const [a, b] = leaves(2) as [Hex, Hex];
    const [lo, hi] = BigInt(a) < BigInt(b) ? [a, b] : [b, a];
    expect(hashPair(a, b)).toBe(keccak256(concat([lo, hi])));
    expect(hashPair(b, a)).toBe(hashPair(a, b));
    // A node that is not 32 bytes of hex is refused, never hashed as whatever part of it decodes.
    for (const bad of ['0x12', `0x${'zz'.repeat(32)}`, `${a.slice(0, 40)}`] as Hex[]) {
      expect(() => hashPair(a, bad)).toThrow(NeurinoError);
    }
  });

  it('a single leaf is its own root with an empty proof', () => {
    const [leaf] = leaves(1) as [Hex];
    const tree = MerkleTree.from([leaf]);
    expect(tree.root).toBe(leaf);
    expect(tree.proof(0)).toEqual([]);
    expect(verifyMerkleProof(leaf, [], tree.root)).toBe(true);
  });

  it('builds the expected root for three leaves (odd node moves up)', () => {
    const [a, b, c] = leaves(3) as [Hex, Hex, Hex];
    expect(merkleRoot([a, b, c])).toBe(hashPair(hashPair(a, b), c));
  });

  it('every leaf of trees of many sizes has a proof that verifies', () => {
    for (const size of [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 100]) {
      const items = leaves(size);
      const tree = MerkleTree.from(items);
      expect(tree.size).toBe(size);
      items.forEach((leaf, i) => {
        const proof = tree.proof(i);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)));
        expect(verifyMerkleProof(leaf, proof, tree.root), `${size}/${i}`).toBe(true);
      });
    }
  });

  it('a proof does not verify another leaf, a changed proof or another root', () => {
    const items = leaves(10);
    const tree = MerkleTree.from(items);
    const proof = tree.proof(3);
    expect(verifyMerkleProof(items[4] as Hex, proof, tree.root)).toBe(false);
    expect(verifyMerkleProof(items[3] as Hex, proof.slice(1), tree.root)).toBe(false);
    expect(verifyMerkleProof(items[3] as Hex, [...proof].reverse(), tree.root)).toBe(false);
    expect(verifyMerkleProof(items[3] as Hex, proof, merkleRoot(leaves(9)))).toBe(false);
    const outsider = keccak256(toHex('not in the tree'));
    expect(verifyMerkleProof(outsider, proof, tree.root)).toBe(false);
  });

  it('accepts upper-case hex the same as lower case', () => {
    const items = leaves(4);
    const tree = MerkleTree.from(items.map((l) => l.toUpperCase().replace('0X', '0x') as Hex));
    expect(tree.root).toBe(merkleRoot(items));
  });

  it('refuses empty trees, malformed leaves and bad indexes', () => {
    expect(() => MerkleTree.from([])).toThrow(NeurinoError);
    expect(() => MerkleTree.from(['0x1234'])).toThrow(/leaf 0 is not 32 bytes/);
    const tree = MerkleTree.from(leaves(3));
    for (const index of [-1, 3, 1.5, Number.NaN]) expect(() => tree.proof(index)).toThrow(NeurinoError);
  });

  it('verifyMerkleProof answers false, never throws, on malformed input', () => {
    const [leaf] = leaves(1) as [Hex];
    const cases: Array<[unknown, unknown, unknown]> = [
      ['0x12', [], leaf],
      [leaf, ['0x12'], leaf],
      [leaf, [], 'root'],
      [leaf, 'not an array', leaf],
      [null, [], leaf],
      [leaf, [5], leaf],
    ];
    for (const [l, p, r] of cases) expect(verifyMerkleProof(l as Hex, p as Hex[], r as Hex)).toBe(false);
  });
});
