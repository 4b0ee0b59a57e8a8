import {
  type Hex,
  hashTypedData,
  keccak256,
  parseSignature,
  recoverAddress,
  serializeSignature,
  toHex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { canonicalSignature, eip712Domain, isDigestSignedBy, isTypedDataSignedBy } from './eip712-domain.ts';
import { recoverDigestSigner } from './recover-signer.ts';

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const signer = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const digest = keccak256(toHex('a receipt'));

/** The same signature with s → n − s and the other parity: valid for plain ecrecover, refused by OpenZeppelin. */
function highSTwin(signature: Hex): Hex {
  const { r, s, yParity } = parseSignature(signature);
  return serializeSignature({
    r,
    s: toHex(CURVE_ORDER - BigInt(s), { size: 32 }),
    yParity: 1 - (yParity ?? 0),
  });
}

describe('isDigestSignedBy', () => {
  it("accepts the signer's signature over the digest and nobody else's", async () => {
    const signature = await signer.sign({ hash: digest });
    expect(isDigestSignedBy(digest, signature, signer.address)).toBe(true);
    expect(isDigestSignedBy(digest, signature, signer.address.toLowerCase() as Hex)).toBe(true);
    expect(isDigestSignedBy(digest, signature, stranger.address)).toBe(false);
    expect(isDigestSignedBy(keccak256(toHex('another receipt')), signature, signer.address)).toBe(false);
  });

  it('takes v as 27/28 or as the bare recovery bit 0/1, like viem; canonicalSignature writes 27/28', async () => {
    for (let i = 0; i < 8; i++) {
      const hash = keccak256(toHex(`receipt ${i}`));
      const signature = await signer.sign({ hash });
      const v = Number.parseInt(signature.slice(-2), 16);
      const bare = `${signature.slice(0, -2)}0${v - 27}` as Hex;
      const flipped = `${signature.slice(0, -2)}${v === 27 ? '1c' : '1b'}` as Hex;
      expect(isDigestSignedBy(hash, signature, signer.address)).toBe(true);
      expect(isDigestSignedBy(hash, bare, signer.address)).toBe(true);
      expect(isDigestSignedBy(hash, flipped, signer.address)).toBe(false);
      // The stored form: what ecrecover and OpenZeppelin's ECDSA take, the same signer.
      expect(canonicalSignature(bare)).toBe(signature);
      expect(canonicalSignature(signature)).toBe(signature);
      expect(canonicalSignature(`0x${signature.slice(2).toUpperCase()}`)).toBe(signature);
      expect(await recoverAddress({ hash, signature: canonicalSignature(bare) })).toBe(signer.address);
    }
  });

  it('refuses the high-s twin of a valid signature', async () => {
    const twin = highSTwin(await signer.sign({ hash: digest }));
    const { r, s, yParity } = parseSignature(twin);
    expect(recoverDigestSigner(digest, r, s, yParity ?? 0)).toBe(signer.address); // ecrecover would accept it
    expect(isDigestSignedBy(digest, twin, signer.address)).toBe(false);
  });

  it('never throws on garbage, and says false', async () => {
    const good = await signer.sign({ hash: digest });
    const garbage = [
      '0x',
      '0x00',
      'nothex',
      `0x${'00'.repeat(65)}`,
      `0x${'zz'.repeat(65)}`,
      `0x${'ff'.repeat(65)}`,
      good.slice(0, -2), // no v
      `${good}00`, // a byte too many
      `${good.slice(0, -2)}1d`, // v = 29
      `${good.slice(0, -2)}02`, // yParity 2
      `0x${'00'.repeat(32)}${good.slice(66)}`, // r = 0
    ];
    for (const signature of garbage) {
      expect(isDigestSignedBy(digest, signature as Hex, signer.address), signature).toBe(false);
    }
    for (const badDigest of ['0x', '0x1234', `0x${'zz'.repeat(32)}`, `0x${'00'.repeat(33)}`]) {
      expect(isDigestSignedBy(badDigest as Hex, good, signer.address), badDigest).toBe(false);
    }
    expect(isDigestSignedBy(digest, good, 'not an address' as Hex)).toBe(false);
  });
});

describe('isTypedDataSignedBy', () => {
  const typedData = {
    domain: eip712Domain({ chainId: 31337, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' }),
    types: { Ping: [{ name: 'n', type: 'uint256' }] },
    primaryType: 'Ping',
    message: { n: 7n },
  } as const;

  it('follows the same rules through the typed data digest', async () => {
    const signature = await signer.signTypedData(typedData);
    expect(await isTypedDataSignedBy({ ...typedData, signature }, signer.address)).toBe(true);
    expect(isDigestSignedBy(hashTypedData(typedData), signature, signer.address)).toBe(true);
    expect(await isTypedDataSignedBy({ ...typedData, signature }, stranger.address)).toBe(false);
    expect(await isTypedDataSignedBy({ ...typedData, signature: highSTwin(signature) }, signer.address)).toBe(
      false,
    );
  });

  it('says false, not throws, for typed data that cannot be hashed', async () => {
    const signature = await signer.signTypedData(typedData);
    const bad = { ...typedData, message: { n: -1n }, signature };
    expect(await isTypedDataSignedBy(bad, signer.address)).toBe(false);
  });
});
