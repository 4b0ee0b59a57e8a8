// GET /v1/receipts/:id: the receipt of a request the caller paid for (by the id it was answered with:
// `chatcmpl-…`, `cmpl-…`, or the `x-neurino-job-id` header), with what checks it without trusting this
// router: the node's EIP-712 signature, the router's attestation (Merkle proof to a signed root), its
// settlement batch with a Merkle proof to the root the Settlement contract keeps, and the EIP-712 domain.
import type { FastifyInstance } from 'fastify';
import { isAddressEqual } from 'viem';
import { FatalError } from '../../../protocol/errors.ts';
import { apiIdKind } from '../../../protocol/ids.ts';
import { receiptAuditJson } from '../../../protocol/receipt-audit.ts';
import { principalOf } from '../auth.ts';
import type { ReceiptLookup } from '../ports.ts';

const RECEIPT_IDS = new Set(['job', 'chatCompletion', 'completion', 'response']);

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
    return receiptAuditJson(audit);
  });
}
