import { type Hex, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import type { ProtocolDomain } from './eip712-domain.ts';
import { eip712Domain } from './eip712-domain.ts';
import { NeurinoError } from './errors.ts';
import {
  type AttestedReceipt,
  attestedReceipt,
  isReceiptAttested,
  RECEIPT_ATTESTATION_TYPES,
  type ReceiptAttestation,
  receiptAttestationDigest,
  receiptAttestationTree,
} from './receipt-attestation.ts';

const domain: ProtocolDomain = {
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
};
const router = privateKeyToAccount(generatePrivateKey());
const leaves = (n: number, tag = 'r'): Hex[] =>
  Array.from({ length: n }, (_, i) => keccak256(toHex(`${tag}-${i}`)));

/** What a router stores for `receipts`, signed as any EIP-712 wallet signs the typed data. */
async function attest(receipts: readonly Hex[], signer = router): Promise<ReceiptAttestation> {
  const { message } = receiptAttestationTree(receipts);
  const signature = await signer.signTypedData({
    domain: eip712Domain(domain),
    types: RECEIPT_ATTESTATION_TYPES,
    primaryType: 'ReceiptAttestation',
    message,
  });
  return { ...message, router: signer.address, signature };
}

describe('receipt attestations', () => {
  it('prove every receipt of batches of many sizes, signed as a wallet signs the typed data', async () => {
    for (const size of [1, 2, 3, 5, 8, 13, 256]) {
      const receipts = leaves(size);
      const attestation = await attest(receipts);
      expect(attestation.receiptCount).toBe(size);
      receipts.forEach((_, i) => {
        const evidence = attestedReceipt(attestation, receipts, i);
        expect(evidence.receiptHash).toBe(receipts[i]);
        expect(isReceiptAttested(domain, evidence, router.address), `${size}/${i}`).toBe(true);
      });
    }
  });

  it('prove nothing for another receipt, root, count, router or domain', async () => {
    const receipts = leaves(6);
    const attestation = await attest(receipts);
    const evidence = attestedReceipt(attestation, receipts, 2);
    const outsider = keccak256(toHex('not in the batch'));
    const other = privateKeyToAccount(generatePrivateKey());
    const forged: AttestedReceipt[] = [
      { ...evidence, receiptHash: outsider },
      { ...evidence, receiptHash: receipts[3] as Hex },
      { ...evidence, proof: evidence.proof.slice(1) },
      { ...evidence, attestation: { ...attestation, receiptCount: 7 } },
      { ...evidence, attestation: { ...attestation, receiptsRoot: outsider } },
      // Another key's signature over the same root, claimed as the router's, or named as its own.
      { ...evidence, attestation: { ...(await attest(receipts, other)), router: router.address } },
    ];
    for (const f of forged) expect(isReceiptAttested(domain, f, router.address)).toBe(false);
    expect(isReceiptAttested(domain, evidence, other.address)).toBe(false);
    expect(isReceiptAttested({ ...domain, chainId: 1 }, evidence, router.address)).toBe(false);
  });

  it('answer malformed evidence false rather than throwing', () => {
    const bad = [
      {},
      { receiptHash: '0x12', proof: [], attestation: {} },
      { receiptHash: leaves(1)[0], proof: 'nope', attestation: { router: router.address } },
      { receiptHash: leaves(1)[0], proof: [], attestation: { router: router.address, receiptCount: 0 } },
    ] as unknown as AttestedReceipt[];
    for (const evidence of bad) expect(isReceiptAttested(domain, evidence, router.address)).toBe(false);
  });

  it('refuse leaves that do not make the attested root, and counts a uint32 cannot hold', async () => {
    const receipts = leaves(4);
    const attestation = await attest(receipts);
    expect(() => attestedReceipt(attestation, leaves(4, 'other'), 0)).toThrow(NeurinoError);
    expect(() => attestedReceipt(attestation, receipts.slice(0, 3), 0)).toThrow(NeurinoError);
    expect(() => attestedReceipt(attestation, receipts, 4)).toThrow(NeurinoError);
    for (const receiptCount of [0, 1.5, 2 ** 32]) {
      expect(() =>
        receiptAttestationDigest(domain, { receiptsRoot: receipts[0] as Hex, receiptCount }),
      ).toThrow(NeurinoError);
    }
  });
});
