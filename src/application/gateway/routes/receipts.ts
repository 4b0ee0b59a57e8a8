// GET /v1/receipts/:id: the receipt of a request the caller paid for (by the id it was answered with:
// `chatcmpl-…`, `cmpl-…`, or the `x-neurino-job-id` header), with what checks it without trusting this
// router: the node's EIP-712 signature, the router's attestation (Merkle proof to a signed root), its
// settlement batch with a Merkle proof to the root the Settlement contract keeps, and the EIP-712 domain.
import type { FastifyInstance } from 'fastify';
import { isAddressEqual } from 'viem';
import { EIP712_NAME, EIP712_VERSION } from '../../../protocol/eip712-domain.ts';
import { FatalError } from '../../../protocol/errors.ts';
import { apiIdKind } from '../../../protocol/ids.ts';
import { receiptAuditJson } from '../../../protocol/receipt-audit.ts';
import { principalOf } from '../auth.ts';
import type { ReceiptAudit, ReceiptLookup } from '../ports.ts';

const RECEIPT_IDS = new Set(['job', 'chatCompletion', 'completion']);

function receiptNotFound(id: string) {
  return new FatalError('receipt_not_found', {
    message: `No receipt for ${JSON.stringify(id.slice(0, 64))}: no job of yours has that id, or it failed (a failed job costs nothing and has none)`,
    param: 'id',
  });
}

export function receiptRoutes(app: FastifyInstance, receipts: ReceiptLookup): void {
  app.get<{ Params: { id: string } }>('/v1/receipts/:id', async (request) => {
    const principal = principalOf(request);
    const { id } = request.params;
    const kind = apiIdKind(id);
    if (kind === undefined || !RECEIPT_IDS.has(kind)) throw receiptNotFound(id);
    const audit = await receipts.byPublicId(id);
    // Someone else's receipt is answered exactly like a missing one.
    if (audit === undefined || !isAddressEqual(audit.receipt.payer, principal.account)) {
      throw receiptNotFound(id);
    }
    return receiptObject(audit);
  });
}

/** The protocol's answer (protocol/receipt-audit.ts), from what the store holds. */
export function receiptObject(audit: ReceiptAudit) {
  const { attestation, settlement, domain } = audit;
  const batch =
    settlement.status === 'journaled' || settlement.status === 'unbatched' ? undefined : settlement.batch;
  return receiptAuditJson({
    object: 'receipt',
    id: audit.publicId,
    receipt: audit.receipt,
    receipt_hash: audit.receiptHash,
    node_signature: audit.nodeSignature,
    charged: audit.charged,
    attestation:
      attestation === undefined
        ? null
        : {
            router: attestation.signed.router,
            receipts_root: attestation.signed.receiptsRoot,
            receipt_count: attestation.signed.receiptCount,
            proof: attestation.proof,
            signature: attestation.signed.signature,
          },
    router_signature: audit.routerSignature ?? null,
    settlement: {
      status: settlement.status,
      batch:
        batch === undefined
          ? null
          : {
              router: batch.router,
              sequence: batch.sequence,
              receipts_root: batch.receiptsRoot,
              proof: batch.proof,
            },
      settled_at: settlement.status === 'settled' ? settlement.settledAt : null,
    },
    domain: {
      name: EIP712_NAME,
      version: EIP712_VERSION,
      chain_id: domain.chainId,
      verifying_contract: domain.verifyingContract,
    },
  });
}
