// A receipt's audit follows it through settlement: unbatched, batched (with a proof to its batch's root),
// back to the pool when its batch is superseded, then settled; with the router's attestation when it was
// stored attested. Both stores.
import { getAddress, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { freshStoreFor, storeBackends } from '../../../test/support/postgres.ts';
import { verifyMerkleProof } from '../../protocol/merkle.ts';
import { isReceiptAttested, receiptAttestationDigest } from '../../protocol/receipt-attestation.ts';
import { parseReceiptAudit, receiptAuditJson } from '../../protocol/receipt-audit.ts';
import { cutBatch, markSettled, markSuperseded } from '../settlement/batch-records.ts';
import { ingestBatch } from './metering-ingest.ts';
import { ReceiptAudits } from './receipt-audit.ts';
import { paidEntry } from './testing/paid-entry.ts';

const ROUTER = getAddress(`0x${'77'.repeat(20)}`);
const domain = { chainId: 31337, verifyingContract: getAddress(`0x${'5e'.repeat(20)}`) };
const routerKey = privateKeyToAccount(`0x${'42'.repeat(32)}`);
const attester = {
  router: routerKey.address,
  sign: (message: { receiptsRoot: Hex; receiptCount: number }) =>
    routerKey.sign({ hash: receiptAttestationDigest(domain, message) }),
};

describe.each(storeBackends())('receipt audits on $kind', (backend) => {
  const db = freshStoreFor(backend);

  it('follows a receipt from unbatched through a superseded batch to settled, its proofs always true', async () => {
    const audits = new ReceiptAudits({ store: db.store, domain });
    const paid = Array.from({ length: 6 }, (_, i) => paidEntry(i));
    await ingestBatch(
      db.store,
      'holder',
      paid.map((p) => p.entry),
      attester,
    );
    expect(await audits.byPublicId('job-99')).toBeUndefined();

    const fresh = await audits.byPublicId('job-0');
    expect(fresh).toMatchObject({
      id: 'job-0',
      receipt_hash: paid[0]?.hash,
      charged: paid[0]?.settleable.price,
      settlement: { status: 'unbatched' },
      domain: { chain_id: 31337, verifying_contract: domain.verifyingContract },
    });
    expect(fresh?.receipt.payer).toBe(paid[0]?.settleable.payer);
    // Attested with its five neighbours under one signed root.
    const attested = fresh?.attestation;
    expect(attested?.receipt_count).toBe(6);
    if (fresh === undefined || attested == null) throw new Error('expected an attested receipt');
    const evidence = {
      receiptHash: fresh.receipt_hash,
      proof: attested.proof,
      attestation: {
        router: attested.router,
        receiptsRoot: attested.receipts_root,
        receiptCount: attested.receipt_count,
        signature: attested.signature,
      },
    };
    expect(isReceiptAttested(domain, evidence, routerKey.address)).toBe(true);

    const inBatch = async (publicId: string, sequence: bigint, leaves: number) => {
      const audit = await audits.byPublicId(publicId);
      if (audit?.settlement.status !== 'batched' && audit?.settlement.status !== 'settled')
        throw new Error(`expected ${publicId} in a batch, got ${audit?.settlement.status}`);
      const batch = audit.settlement.batch;
      expect(batch).toMatchObject({ router: ROUTER, sequence });
      if (batch === null) throw new Error('expected a batch');
      expect(verifyMerkleProof(audit.receipt_hash, batch.proof, batch.receipts_root)).toBe(true);
      expect(batch.proof.length).toBe(Math.ceil(Math.log2(leaves)));
      return audit.settlement.status;
    };
    const unbatched = { status: 'unbatched', batch: null, settled_at: null };

    await cutBatch(db.store, { router: ROUTER, sequence: 0n, maxReceipts: 4 });
    expect(await inBatch('job-0', 0n, 4)).toBe('batched');
    expect((await audits.byPublicId('job-5'))?.settlement).toEqual(unbatched);

    // Superseded: back to the pool, then cut again into a smaller batch, never read from a stale tree.
    await markSuperseded(db.store, ROUTER, 0n, 'the chain expects another sequence');
    expect((await audits.byPublicId('job-0'))?.settlement).toEqual(unbatched);
    await cutBatch(db.store, { router: ROUTER, sequence: 0n, maxReceipts: 2 });
    expect(await inBatch('job-0', 0n, 2)).toBe('batched');

    await markSettled(db.store, ROUTER, 0n, 1_234);
    expect(await inBatch('job-0', 0n, 2)).toBe('settled');
    expect(await inBatch('job-1', 0n, 2)).toBe('settled');
    expect((await audits.byPublicId('job-1'))?.settlement).toMatchObject({ settled_at: 1_234 });
    // What the gateway sends is the protocol's answer as it stands.
    const answer = await audits.byPublicId('job-1');
    if (answer === undefined) throw new Error('expected job-1');
    expect(parseReceiptAudit(JSON.parse(JSON.stringify(receiptAuditJson(answer))))).toEqual({
      ok: true,
      value: answer,
    });
  });
});
