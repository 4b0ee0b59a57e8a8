// Where a payer's credits stand, for the payer to see (GET /v1/credits): what the chain holds, what answered
// requests cost that the chain has not debited yet, and what running jobs hold. Read in the metering's
// serial queue, so no batch of receipts moves from this router's lease into the store halfway through.
import type { Address } from 'viem';
import { bigintOf } from '../store/sql-values.ts';
import type { Store } from '../store/store.ts';
import type { Lease } from './credit-leases.ts';
import type { CreditsSource } from './credits-source.ts';
import { settledSince, USED_PARTS_SQL } from './credits-used.ts';

/** Wei of compute credits. */
export interface CreditStanding {
  /** On-chain credits less a pending withdrawal, as last read (at most `credits.maxAgeMs` old). */
  balance: bigint;
  /** Charged for answered requests and not yet debited on-chain (stored or still in the journal). */
  unsettled: bigint;
  /** Held for jobs running on this router, and leased by other routers sharing the store. */
  held: bigint;
  /** balance − unsettled − held, at least 0: what new requests can spend. */
  available: bigint;
}

export interface CreditStandingSources {
  store: Store;
  credits: CreditsSource;
  /** This router's lease holder id: its own lease is read from memory, not from its row. */
  holder: string;
  lease: (payer: Address) => Lease | undefined;
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
}

export async function readCreditStanding(
  sources: CreditStandingSources,
  payer: Address,
): Promise<CreditStanding> {
  const { store, credits, holder } = sources;
  // Read before queueing: no RPC call waits in the queue other writes wait in.
  const balance = await credits.balanceOf(payer);
  return sources.serial(async () => {
    const now = Date.now();
    const [row] = await store.query<{ unsettled: unknown; leased: unknown }>(USED_PARTS_SQL, [
      payer,
      settledSince(credits, now),
      now,
      holder,
    ]);
    const lease = sources.lease(payer);
    const unsettled = bigintOf(row?.unsettled ?? 0) + (lease?.pending ?? 0n);
    const held = bigintOf(row?.leased ?? 0) + (lease?.held ?? 0n);
    const left = balance - unsettled - held;
    return { balance, unsettled, held, available: left > 0n ? left : 0n };
  });
}
