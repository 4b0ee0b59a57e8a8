import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { MerkleTree } from './merkle.ts';
import { hashReceipt, signReceipt } from './receipt.ts';
import { attestedReceipt, receiptAttestationDigest, receiptAttestationTree } from './receipt-attestation.ts';
import {
  checkReceiptAudit,
  parseReceiptAudit,
  type ReceiptAuditAnswer,
  receiptAuditJson,
} from './receipt-audit.ts';
import { sampleReceipt } from './testing/samples.ts';

const node = privateKeyToAccount(generatePrivateKey());
const router = privateKeyToAccount(generatePrivateKey());
const settlementContract = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512';
const domain = { chainId: 31337, verifyingContract: settlementContract } as const;

const receipt = sampleReceipt(node.address);

/** An honest router's answer: the receipt among four others, attested together, settled in a batch of six. */
async function honestAnswer(): Promise<ReceiptAuditAnswer> {
  const leaf = hashReceipt(receipt);
  const [first, ...others] = Array.from({ length: 5 }, (_, i) =>
    hashReceipt({ ...receipt, outputTokens: 10 + i }),
  );
  if (first === undefined) throw new Error('five hashes');
  const stored = [first, leaf, ...others.slice(0, 3)];
  const { message } = receiptAttestationTree(stored);
  const signature = await router.sign({ hash: receiptAttestationDigest(domain, message) });
  const evidence = attestedReceipt({ ...message, router: router.address, signature }, stored, 1);
  const batch = MerkleTree.from([first, ...others, leaf]);
  return {
    object: 'receipt',
    id: 'chatcmpl-AbCdEfGhIjKlMnOpQrStUvWx',
    receipt,
    receipt_hash: leaf,
    node_signature: await signReceipt(node, domain, receipt),
    charged: receipt.price,
    attestation: {
      router: router.address,
      receipts_root: message.receiptsRoot,
      receipt_count: message.receiptCount,
      proof: evidence.proof,
      signature,
    },
    router_signature: null,
    settlement: {
      status: 'settled',
      batch: { router: router.address, sequence: 7n, receipts_root: batch.root, proof: batch.proof(5) },
      settled_at: 1_700_000_009_000,
    },
    domain: { name: 'Neurino', version: '1', chain_id: 31337, verifying_contract: settlementContract },
  };
}

const ALL_GOOD = { hashMatches: true, nodeSigned: true, attested: true, inBatch: true };

describe('receipt audits', () => {
  it('check out whole after a trip through JSON', async () => {
    const json = JSON.parse(JSON.stringify(receiptAuditJson(await honestAnswer())));
    expect(json.receipt.price).toBe('120000000000');
    expect(json.settlement.batch.sequence).toBe('7');
    const parsed = parseReceiptAudit(json);
    if (!parsed.ok) throw parsed.error;
    expect(parsed.value).toEqual(
      await honestAnswer().then((a) => ({ ...a, node_signature: a.node_signature })),
    );
    expect(await checkReceiptAudit(parsed.value, router.address)).toEqual(ALL_GOOD);
  });

  it('catch each forged part on its own', async () => {
    const honest = await honestAnswer();
    const stranger = privateKeyToAccount(generatePrivateKey());
    const cheaper = { ...honest, receipt: { ...receipt, price: 1n } };
    expect(await checkReceiptAudit(cheaper, router.address)).toMatchObject({
      hashMatches: false,
      nodeSigned: false,
    });
    const otherDomain = { ...honest, domain: { ...honest.domain, chain_id: 1 } };
    expect(await checkReceiptAudit(otherDomain, router.address)).toMatchObject({
      nodeSigned: false,
      attested: false,
      hashMatches: true,
      inBatch: true,
    });
    expect(await checkReceiptAudit(honest, stranger.address)).toEqual({ ...ALL_GOOD, attested: false });
    const attestation = honest.attestation;
    const batch = honest.settlement.batch;
    if (attestation === null || batch === null) throw new Error('the honest answer has both');
    const shortProof = { ...honest, attestation: { ...attestation, proof: attestation.proof.slice(1) } };
    expect(await checkReceiptAudit(shortProof, router.address)).toEqual({ ...ALL_GOOD, attested: false });
    const otherBatch = {
      ...honest,
      settlement: { ...honest.settlement, batch: { ...batch, proof: [...batch.proof].reverse() } },
    };
    expect(await checkReceiptAudit(otherBatch, router.address)).toEqual({ ...ALL_GOOD, inBatch: false });
    const unsettled = {
      ...honest,
      attestation: null,
      settlement: { status: 'unbatched' as const, batch: null, settled_at: null },
    };
    expect(await checkReceiptAudit(unsettled, router.address)).toEqual({
      hashMatches: true,
      nodeSigned: true,
      attested: undefined,
      inBatch: undefined,
    });
  });

  it('refuse malformed answers naming the field', async () => {
    const json = receiptAuditJson(await honestAnswer()) as Record<string, unknown>;
    const bad = (patch: Record<string, unknown>) => {
      const parsed = parseReceiptAudit({ ...json, ...patch });
      return parsed.ok ? undefined : parsed.error.param;
    };
    expect(bad({ receipt_hash: '0x12' })).toBe('receipt_hash');
    expect(bad({ charged: '-1' })).toBe('charged');
    expect(
      bad({ domain: { name: 'Other', version: '1', chain_id: 1, verifying_contract: settlementContract } }),
    ).toBe('domain.name');
    expect(bad({ receipt: { ...(json.receipt as object), startedAt: 1_800_000_000_000 } })).toBe(
      'receipt.finishedAt',
    );
  });
});
