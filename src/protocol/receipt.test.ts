import { hashTypedData, keccak256, maxUint256, toBytes, zeroAddress } from 'viem';
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount, toAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fastAccount } from './fast-account.ts';
import {
  hashReceipt,
  RECEIPT_TYPE,
  RECEIPT_TYPEHASH,
  type Receipt,
  ReceiptSchema,
  receiptDigest,
  receiptTypedData,
  resultHash,
  signReceipt,
  verifyReceipt,
} from './receipt.ts';
import { SAMPLE_FRONTEND, SAMPLE_PAYER, sampleReceipt as sampleReceiptOf } from './testing/samples.ts';

const node = privateKeyToAccount(generatePrivateKey());
const router = privateKeyToAccount(generatePrivateKey());
const domain = { chainId: 31337, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' } as const;

const sampleReceipt = (overrides: Partial<Receipt> = {}) => sampleReceiptOf(node.address, overrides);

describe('receipt signatures', () => {
  it('round-trips: the node signs, anyone verifies', async () => {
    const receipt = sampleReceipt();
    const signature = await signReceipt(node, domain, receipt);
    expect(await verifyReceipt(domain, receipt, signature, node.address)).toBe(true);
  });

  it('verifies a signature as its own signer only (another key, e.g. a router, over the same receipt)', async () => {
    const receipt = sampleReceipt();
    const signature = await signReceipt(router, domain, receipt);
    expect(await verifyReceipt(domain, receipt, signature, router.address)).toBe(true);
    expect(await verifyReceipt(domain, receipt, signature, node.address)).toBe(false);
  });

  it('fails when any field is tampered with', async () => {
    const receipt = sampleReceipt();
    const signature = await signReceipt(node, domain, receipt);
    const tampered: Partial<Receipt>[] = [
      { jobId: `0x${'3'.repeat(64)}` },
      { attemptId: `0x${'4'.repeat(64)}` },
      { podId: `0x${'5'.repeat(64)}` },
      { frontend: zeroAddress },
      { payer: SAMPLE_FRONTEND },
      { computeUnits: 121n },
      { inputTokens: 6 },
      { outputTokens: 3 },
      { price: receipt.price + 1n },
      { resultHash: resultHash({ text: 'Hello!' }) },
      { startedAt: receipt.startedAt - 1 },
      { finishedAt: receipt.finishedAt + 1 },
    ];
    expect(tampered.length + 1).toBe(Object.keys(receipt).length); // every field but `node`, checked below
    for (const change of tampered) {
      expect(
        await verifyReceipt(domain, { ...receipt, ...change }, signature, node.address),
        Object.keys(change)[0],
      ).toBe(false);
    }
    expect(await verifyReceipt(domain, { ...receipt, node: router.address }, signature, node.address)).toBe(
      false,
    );
  });

  it('fails for a wrong signer', async () => {
    const receipt = sampleReceipt();
    const signature = await signReceipt(router, domain, receipt);
    expect(await verifyReceipt(domain, receipt, signature, node.address)).toBe(false);
  });

  it('cannot be replayed under another chain id or settlement contract', async () => {
    const receipt = sampleReceipt();
    const signature = await signReceipt(node, domain, receipt);
    expect(await verifyReceipt({ ...domain, chainId: 1 }, receipt, signature, node.address)).toBe(false);
    const otherContract = { ...domain, verifyingContract: SAMPLE_PAYER };
    expect(await verifyReceipt(otherContract, receipt, signature, node.address)).toBe(false);
  });

  it('verifyReceipt never throws on garbage signatures', async () => {
    const receipt = sampleReceipt();
    for (const bad of ['0x', '0x00', `0x${'00'.repeat(65)}`, `0x${'zz'.repeat(65)}`, 'nothex'] as const) {
      expect(await verifyReceipt(domain, receipt, bad as `0x${string}`, node.address)).toBe(false);
    }
  });
});

describe('signReceipt signs the digest', () => {
  it('gives the same bytes from a plain viem account, an HD account, fastAccount and signTypedData', async () => {
    for (let i = 0; i < 10; i++) {
      const key = generatePrivateKey();
      const plain = privateKeyToAccount(key);
      const receipt = sampleReceipt({ node: plain.address, computeUnits: BigInt(i), outputTokens: i });
      const expected = await plain.signTypedData(receiptTypedData(domain, receipt));
      expect(await signReceipt(plain, domain, receipt)).toBe(expected);
      expect(await signReceipt(fastAccount(key), domain, receipt)).toBe(expected);
      const digest = receiptDigest(domain, receipt);
      expect(await signReceipt(fastAccount(key), domain, receipt, digest)).toBe(expected);
      expect(await verifyReceipt(domain, receipt, expected, plain.address, digest)).toBe(true);
    }
    const hd = mnemonicToAccount('test test test test test test test test test test test junk');
    const receipt = sampleReceipt({ node: hd.address });
    expect(await signReceipt(hd, domain, receipt)).toBe(
      await hd.signTypedData(receiptTypedData(domain, receipt)),
    );
  });

  it('falls back to signTypedData for an account that cannot sign raw hashes', async () => {
    const inner = privateKeyToAccount(generatePrivateKey());
    const typedOnly = toAccount({
      address: inner.address,
      signMessage: (p) => inner.signMessage(p),
      signTransaction: (t) => inner.signTransaction(t),
      signTypedData: (t) => inner.signTypedData(t),
    });
    expect(typedOnly.sign).toBeUndefined();
    const receipt = sampleReceipt();
    expect(await signReceipt(typedOnly, domain, receipt)).toBe(await signReceipt(inner, domain, receipt));
  });

  it('rejects (does not throw) for a receipt that cannot be encoded, and nobody verifies it', async () => {
    const unencodable = sampleReceipt({ price: maxUint256 + 1n });
    await expect(signReceipt(node, domain, unencodable)).rejects.toThrow(/receipt price .* not a uint256/);
    const signature = await signReceipt(node, domain, sampleReceipt());
    expect(await verifyReceipt(domain, unencodable, signature, node.address)).toBe(false);
  });

  it('verifies against the digest it is given', async () => {
    const receipt = sampleReceipt();
    const signature = await signReceipt(node, domain, receipt);
    const otherDigest = receiptDigest(domain, sampleReceipt({ outputTokens: 9 }));
    expect(await verifyReceipt(domain, receipt, signature, node.address, otherDigest)).toBe(false);
  });
});

describe('receipt hashing', () => {
  it('states the type string Solidity must use', () => {
    expect(RECEIPT_TYPE).toBe(
      'Receipt(bytes32 jobId,bytes32 attemptId,bytes32 podId,address node,address frontend,address payer,' +
        'uint256 computeUnits,uint32 inputTokens,uint32 outputTokens,uint256 price,bytes32 resultHash,' +
        'uint64 startedAt,uint64 finishedAt)',
    );
    expect(RECEIPT_TYPEHASH).toBe(keccak256(toBytes(RECEIPT_TYPE)));
  });

  it('hashReceipt is the struct hash: the digest is keccak(0x1901 ‖ domainSeparator ‖ structHash)', () => {
    const receipt = sampleReceipt();
    const digest = receiptDigest(domain, receipt);
    expect(digest).toBe(hashTypedData(receiptTypedData(domain, receipt)));
    expect(hashReceipt(receipt)).toMatch(/^0x[0-9a-f]{64}$/);
    expect(hashReceipt(receipt)).not.toBe(digest);
    expect(hashReceipt(receipt)).toBe(hashReceipt(sampleReceipt()));
    expect(hashReceipt(sampleReceipt({ outputTokens: 3 }))).not.toBe(hashReceipt(receipt));
  });

  it('resultHash is independent of key order and sensitive to content', () => {
    expect(resultHash({ a: 1, b: [1, 2] })).toBe(resultHash({ b: [1, 2], a: 1 }));
    expect(resultHash({ a: 1 })).not.toBe(resultHash({ a: 2 }));
    expect(resultHash('x')).toBe(keccak256(toBytes('"x"')));
    expect(() => resultHash({ a: Number.NaN })).toThrow(/not finite/);
  });
});

describe('ReceiptSchema', () => {
  it('round-trips through its wire form', () => {
    const receipt = sampleReceipt();
    const json = z.encode(ReceiptSchema, receipt);
    expect(json.price).toBe('120000000000');
    expect(ReceiptSchema.parse(JSON.parse(JSON.stringify(json)))).toEqual(receipt);
  });

  it('refuses bad fields', () => {
    const json = z.encode(ReceiptSchema, sampleReceipt());
    const bad = [
      { inputTokens: 2 ** 32 },
      { inputTokens: -1 },
      { price: '-5' },
      { node: '0x123' },
      { finishedAt: json.startedAt - 1 },
      { resultHash: 'abc' },
    ];
    for (const change of bad) {
      expect(ReceiptSchema.safeParse({ ...json, ...change }).success, JSON.stringify(change)).toBe(false);
    }
  });
});
