// A router upgraded onto the database a router before schema 7 used: the receipts that router
// countersigned one by one keep their own signature, the ones stored from now on are attested in batches.
import { type Address, getAddress, type Hex, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { storeBackends } from '../../../test/support/postgres.ts';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { ProtocolDomain } from '../../protocol/eip712-domain.ts';
import { isDigestSignedBy } from '../../protocol/eip712-domain.ts';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import { hashReceipt, receiptDigest } from '../../protocol/receipt.ts';
import { isReceiptAttested } from '../../protocol/receipt-attestation.ts';
import { signedReceipt } from '../settlement/testing/protocol-fixture.ts';
import type { Store } from '../store/store.ts';
import { CreditLedger } from './credit-ledger.ts';
import { endedEntry, type MeteringEntry } from './metering-entries.ts';
import { ingestBatch } from './metering-ingest.ts';
import { routerAttester, settableCredits } from './testing/metering-fixture.ts';

const domain: ProtocolDomain = {
  chainId: 31337,
  verifyingContract: getAddress(keccak256(toHex('settlement')).slice(0, 42)),
};
const node = devAccount(10);

/** A paid chat job's ended entry, the receipt signed by the node. */
async function paidEntry(payer: Address): Promise<{ jobId: Hex; entry: MeteringEntry; digest: Hex }> {
  const jobId = randomBytes32();
  const { receipt, nodeSignature } = await signedReceipt(domain, node, {
    jobId,
    podId: keccak256(toHex('pod')),
    payer,
    price: 5n,
  });
  const job = {
    jobId,
    publicId: newApiId('job'),
    payer,
    podId: receipt.podId,
    kind: 'chat' as const,
    createdAt: 1,
  };
  const charge = { receipt, receiptHash: hashReceipt(receipt), nodeSignature, charged: 5n };
  const entry = endedEntry(job, { status: 'succeeded', attempts: [] }, charge);
  return { jobId, entry, digest: receiptDigest(domain, receipt) };
}

/** The schema a router before version 7 left: no attestations, receipts with a router signature each. */
async function backToSchema6(store: Store): Promise<void> {
  await store.query('alter table receipts drop column attestation_root');
  await store.query('alter table receipts drop column attestation_index');
  await store.query('drop table receipt_attestations');
  await store.query('delete from schema_migrations where version = 7');
}

/** How that router stored a receipt: with its own countersignature. */
async function storeCountersigned(store: Store, entry: MeteringEntry, signature: Hex): Promise<void> {
  await store.query(
    `insert into receipts (job_id, attempt_id, pod_id, node, frontend, payer, compute_units, input_tokens,
       output_tokens, price, result_hash, started_at, finished_at, receipt_hash, node_signature,
       router_signature, charged, created_at)
     select job_id, attempt_id, pod_id, node, frontend, payer, compute_units, input_tokens, output_tokens,
       price, result_hash, started_at, finished_at, receipt_hash, node_signature, router_signature, charged,
       created_at
     from jsonb_populate_record(null::receipts, $1::jsonb)`,
    [JSON.stringify({ ...entry.receipt, router_signature: signature.toLowerCase() })],
  );
}

describe.each(storeBackends())('upgrading to attested receipts on $kind', (backend) => {
  it("keeps the old receipts' own router signature and attests the receipts stored after", async () => {
    const target = await backend.fresh();
    const { key, attester } = routerAttester(domain);
    const payer = privateKeyToAccount(generatePrivateKey()).address;
    try {
      const old = await paidEntry(payer);
      const before = await target.open();
      try {
        await backToSchema6(before);
        await storeCountersigned(before, old.entry, await key.sign({ hash: old.digest }));
      } finally {
        await before.close();
      }

      const store = await target.open();
      try {
        const ledger = new CreditLedger({ store, credits: settableCredits() });
        const [legacy] = await ledger.receiptsFor({ jobId: old.jobId });
        expect(legacy?.attestation).toBeUndefined();
        expect(isDigestSignedBy(old.digest, legacy?.routerSignature ?? '0x', key.address)).toBe(true);
        expect(await ledger.attestedReceipt(old.jobId)).toBeUndefined();

        const fresh = await paidEntry(payer);
        expect((await ingestBatch(store, 'router-upgraded', [fresh.entry], attester)).refused).toEqual([]);
        const evidence = await ledger.attestedReceipt(fresh.jobId);
        expect(evidence && isReceiptAttested(domain, evidence, key.address)).toBe(true);
        const [attested] = await ledger.receiptsFor({ jobId: fresh.jobId });
        expect(attested?.routerSignature).toBeUndefined();
      } finally {
        await store.close();
      }
    } finally {
      await target.dispose();
    }
  });
});
