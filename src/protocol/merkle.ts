import type { Hex } from 'viem';
import { FatalError } from './errors.ts';
import { keccak256Hex } from './keccak.ts';

/**
 * Merkle trees over receipt hashes, compatible with OpenZeppelin's `MerkleProof.verify`: each parent is
 * keccak256 of its two children sorted as uint256 (so proofs need no left/right flags), and a node
 * without a sibling moves up unchanged. Leaves are EIP-712 struct hashes, never 64-byte values, so an
 * inner node cannot pass for a leaf.
 */

const BYTES32 = /^0x[0-9a-f]{64}$/;

/** True for what a tree takes as a leaf as it is: 32 bytes of lower-case 0x-hex. */
export function isMerkleLeaf(value: unknown): value is Hex {
  return typeof value === 'string' && BYTES32.test(value);
}

/**
 * The parent of two lower-case 32-byte hashes. A settlement batch of 10,000 receipts hashes about as many
 * pairs on the router's thread, so this goes through the native keccak (./keccak.ts).
 */
export function hashPair(a: Hex, b: Hex): Hex {
  const [low, high] = a < b ? [a, b] : [b, a];
  // Decoded into one reused buffer: no joined string or new buffer per pair (hashing is synchronous).
  const written = pair.write(low.slice(2), 0, 32, 'hex') + pair.write(high.slice(2), 32, 32, 'hex');
  if (written !== 64) throw new FatalError('invalid_request', { message: 'a Merkle node is not 32 bytes' });
  return keccak256Hex(pair);
}

const pair = Buffer.alloc(64);

export class MerkleTree {
  /** layers[0] are the leaves, the last layer holds the root. */
  private readonly layers: Hex[][];

  private constructor(layers: Hex[][]) {
    this.layers = layers;
  }

  static from(leaves: readonly Hex[]): MerkleTree {
    if (leaves.length === 0)
      throw new FatalError('invalid_request', { message: 'a Merkle tree needs a leaf' });
    let layer = leaves.map((leaf, i) => normalizeLeaf(leaf, i));
    const layers = [layer];
    while (layer.length > 1) {
      const next: Hex[] = [];
      for (let i = 0; i < layer.length; i += 2) {
        const left = layer[i] as Hex;
        const right = layer[i + 1];
        next.push(right === undefined ? left : hashPair(left, right));
      }
      layers.push(next);
      layer = next;
    }
    return new MerkleTree(layers);
  }

  get root(): Hex {
    return this.layers.at(-1)?.[0] as Hex;
  }

  get size(): number {
    return this.layers[0]?.length ?? 0;
  }

  /** Siblings from the leaf up; verify with `verifyMerkleProof` or OpenZeppelin's MerkleProof. */
  proof(index: number): Hex[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new FatalError('invalid_request', { message: `no leaf at index ${index}` });
    }
    const proof: Hex[] = [];
    let i = index;
    for (const layer of this.layers.slice(0, -1)) {
      const sibling = layer[i ^ 1];
      if (sibling !== undefined) proof.push(sibling);
      i >>= 1;
    }
    return proof;
  }
}

export function merkleRoot(leaves: readonly Hex[]): Hex {
  return MerkleTree.from(leaves).root;
}

/** True when `leaf` is in the tree with `root`. Never throws: malformed input is simply not a proof. */
export function verifyMerkleProof(leaf: Hex, proof: readonly Hex[], root: Hex): boolean {
  if (typeof leaf !== 'string' || typeof root !== 'string' || !Array.isArray(proof)) return false;
  if (!BYTES32.test(leaf.toLowerCase()) || !BYTES32.test(root.toLowerCase())) return false;
  let hash = leaf.toLowerCase() as Hex;
  for (const sibling of proof) {
    if (typeof sibling !== 'string' || !BYTES32.test(sibling.toLowerCase())) return false;
    hash = hashPair(hash, sibling.toLowerCase() as Hex);
  }
  return hash === root.toLowerCase();
}

function normalizeLeaf(leaf: Hex, index: number): Hex {
  const lower = typeof leaf === 'string' ? leaf.toLowerCase() : '';
  if (!isMerkleLeaf(lower))
    throw new FatalError('invalid_request', { message: `leaf ${index} is not 32 bytes` });
  return lower as Hex;
}
