// `neurino receipt <id>`: fetches the receipt of a request from a gateway and checks it without trusting
// the router that answers: the receipt's hash and its node's signature, the router's attestation, and with
// a chain to ask, that the attesting key may settle on that Settlement contract and that the batch the
// receipt is proven into is the one the contract applied.
import { type Address, zeroAddress } from 'viem';
import { chainFor, publicClientFor } from '../chain/clients.ts';
import { settlementAbi } from '../chain/generated/index.ts';
import { hasRouterRole } from '../chain/router-role.ts';
import { createError, FatalError } from '../protocol/errors.ts';
import { checkReceiptAudit, parseReceiptAudit, type ReceiptAuditAnswer } from '../protocol/receipt-audit.ts';
import { formatNeu } from '../protocol/units.ts';
import { fetchRouter } from './router-fetch.ts';

export interface ReceiptCheckOptions {
  gatewayUrl: string;
  apiKey: string;
  /** A chain to ask about the router's role and the settled batch's root; without it those stay unchecked. */
  rpcUrl?: string | undefined;
}

export interface ReceiptCheckReport {
  /** Every check made passed. */
  ok: boolean;
  lines: string[];
  audit: ReceiptAuditAnswer;
}

const mark = (passed: boolean) => (passed ? '✓' : '✗');

export async function checkReceipt(id: string, options: ReceiptCheckOptions): Promise<ReceiptCheckReport> {
  const audit = await fetchAudit(id, options);
  const { receipt, attestation, domain } = audit;
  const batch = audit.settlement.batch;
  // The key whose right to settle the chain is asked about: the attester's, else the batch's router.
  const router = attestation?.router ?? batch?.router;
  const chain = options.rpcUrl === undefined ? undefined : await chainFacts(audit, router, options.rpcUrl);
  // The attestation is checked against its own signer; whether that key may settle, the chain says.
  const checks = await checkReceiptAudit(audit, attestation?.router ?? zeroAddress);
  const lines = [
    `receipt of ${audit.id} (job ${receipt.jobId})`,
    `  node ${receipt.node} · pod ${receipt.podId} · ${receipt.inputTokens} tokens in, ${receipt.outputTokens} out · compute units ${receipt.computeUnits} · price ${formatNeu(receipt.price)} NEU, charged ${formatNeu(audit.charged)} NEU`,
  ];
  let ok = true;
  const check = (passed: boolean, text: string) => {
    ok &&= passed;
    lines.push(`  ${mark(passed)} ${text}`);
  };
  check(checks.hashMatches, `the receipt hashes to ${audit.receipt_hash}`);
  check(
    checks.nodeSigned,
    `signed by its node ${receipt.node} (EIP-712, chain ${domain.chain_id}, Settlement ${domain.verifying_contract})`,
  );
  if (attestation === null) {
    lines.push(
      audit.settlement.status === 'journaled'
        ? "  · in the router's journal, not stored yet: it is attested as it is stored (within about a second)"
        : audit.router_signature === null
          ? '  · not attested: the router stored it without a key'
          : '  · countersigned by the router before batch attestations (not checked here)',
    );
  } else {
    check(
      checks.attested === true,
      `attested by router ${attestation.router} (Merkle proof to its signed root)`,
    );
  }
  if (chain === undefined) {
    lines.push(
      '  · the chain was not asked (--rpc-url): the router role and the settled root stay unchecked',
    );
  } else {
    check(chain.sameChain, `the chain asked is chain ${domain.chain_id}, the receipt's`);
    if (router !== undefined) {
      check(chain.routerAllowed, `${router} holds ROUTER_ROLE on Settlement ${domain.verifying_contract}`);
    }
  }
  if (batch === null) {
    lines.push(
      audit.settlement.status === 'settled'
        ? '  · settled without a transaction: it charged nothing'
        : '  · not in a settlement batch yet',
    );
  } else {
    check(
      checks.inBatch === true,
      `in batch ${batch.sequence} of router ${batch.router} (Merkle proof to ${batch.receipts_root})`,
    );
    if (chain?.batchRoot !== undefined && audit.settlement.status === 'settled') {
      check(
        chain.batchRoot === batch.receipts_root,
        'Settlement.batchRoot holds that root: the batch was applied on-chain',
      );
    } else if (audit.settlement.status === 'batched') {
      lines.push('  · the batch is not confirmed on-chain yet');
    }
  }
  return { ok, lines, audit };
}

async function fetchAudit(id: string, options: ReceiptCheckOptions): Promise<ReceiptAuditAnswer> {
  const base = options.gatewayUrl.replace(/\/+$/, '');
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) {
    throw new FatalError('invalid_request', {
      message: `bad gateway URL ${JSON.stringify(base.slice(0, 200))}: expected http(s)://host:port`,
    });
  }
  const url = `${base}/v1/receipts/${encodeURIComponent(id)}`;
  const response = await fetchRouter(
    url,
    { headers: { authorization: `Bearer ${options.apiKey}` } },
    `gateway at ${base}`,
  );
  const body = (await response.json().catch(() => undefined)) as
    | { error?: { code?: string; message?: string } }
    | undefined;
  if (!response.ok) {
    const message = body?.error?.message ?? `HTTP ${response.status}`;
    throw new FatalError('invalid_request', {
      message: `the gateway answered ${response.status}: ${message}`,
    });
  }
  const parsed = parseReceiptAudit(body);
  if (!parsed.ok) {
    throw createError('bad_result', {
      message: `the gateway's answer is not a receipt: ${parsed.error.message}`,
    });
  }
  return parsed.value;
}

interface ChainFacts {
  sameChain: boolean;
  routerAllowed: boolean;
  /** Settlement.batchRoot of the receipt's batch (zero until the batch is applied). */
  batchRoot: string | undefined;
}

async function chainFacts(
  audit: ReceiptAuditAnswer,
  router: Address | undefined,
  rpcUrl: string,
): Promise<ChainFacts> {
  const { chain_id: chainId, verifying_contract: settlement } = audit.domain;
  const client = publicClientFor(chainFor(chainId, rpcUrl));
  const contract = { address: settlement, abi: settlementAbi } as const;
  const sameChain = (await client.getChainId()) === chainId;
  const routerAllowed =
    sameChain && router !== undefined && (await hasRouterRole(client, settlement, router));
  const batch = audit.settlement.batch;
  const batchRoot =
    sameChain && batch !== null
      ? await client.readContract({
          ...contract,
          functionName: 'batchRoot',
          args: [batch.router, batch.sequence],
        })
      : undefined;
  return { sameChain, routerAllowed, batchRoot };
}
