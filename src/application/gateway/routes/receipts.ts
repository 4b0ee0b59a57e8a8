// GET /v1/receipts/:id: the receipt of a request the caller paid for (by the id it was answered with:
// `chatcmpl-…`, `cmpl-…`, or the `x-neurino-job-id` header), with what checks it without trusting this
// router: the node's EIP-712 signature, the router's attestation (Merkle proof to a signed root), its
// settlement batch with a Merkle proof to the root the Settlement contract keeps, and the EIP-712 domain.
import type { FastifyInstance } from 'fastify';
import { isAddressEqual } from 'viem';
import { FatalError } from '../../../protocol/errors.ts';
import { apiIdKind } from '../../../protocol/ids.ts';
import { principalOf } from '../auth.ts';
import type { ReceiptAudit, ReceiptLookup } from '../ports.ts';

const RECEIPT_IDS = new Set(['job', 'chatCompletion', 'completion']);

function receiptNotFound(id: string) {
  return new FatalError('receipt_not_found', {
    message: `No receipt stored for ${JSON.stringify(id.slice(0, 64))}: a failed job has none, and a charged one is stored within about a second of its answer`,
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

/** Snake case and decimal strings for wei, as the rest of the API; hashes and signatures as 0x-hex. */
export function receiptObject(audit: ReceiptAudit) {
  const { receipt, attestation, settlement, domain } = audit;
  return {
    object: 'receipt',
    id: audit.publicId,
    receipt: {
      job_id: receipt.jobId,
      attempt_id: receipt.attemptId,
      pod_id: receipt.podId,
      node: receipt.node,
      frontend: receipt.frontend,
      payer: receipt.payer,
      compute_units: receipt.computeUnits.toString(),
      input_tokens: receipt.inputTokens,
      output_tokens: receipt.outputTokens,
      price: receipt.price.toString(),
      result_hash: receipt.resultHash,
      started_at: receipt.startedAt,
      finished_at: receipt.finishedAt,
    },
    receipt_hash: audit.receiptHash,
    node_signature: audit.nodeSignature,
    charged: audit.charged.toString(),
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
      // Checked against Settlement.batchRoot(router, sequence) once applied.
      batch:
        settlement.status === 'unbatched' || settlement.batch === undefined
          ? null
          : {
              router: settlement.batch.router,
              sequence: settlement.batch.sequence.toString(),
              receipts_root: settlement.batch.receiptsRoot,
              proof: settlement.batch.proof,
            },
      settled_at: settlement.status === 'settled' ? settlement.settledAt : null,
    },
    domain: {
      name: domain.name,
      version: domain.version,
      chain_id: Number(domain.chainId),
      verifying_contract: domain.verifyingContract,
    },
  };
}
