// What counts against a payer's on-chain credits besides the chain's own balance: charges not yet
// debited on-chain (receipts unsettled, or settled so recently that a cached balance may predate the
// debit) and live credit leases of routers. One definition for the ledger's reads and the leases' grants.
import type { Address } from 'viem';
import type { Queryable, StoreKind } from '../store/store.ts';
import type { CreditsSource } from './credits-source.ts';

/** Margin for clocks of routers sharing one database when deciding what a balance already reflects. */
const CLOCK_MARGIN_MS = 2_000;

const UNSETTLED = `(select coalesce(sum(charged), 0) from receipts
    where payer = $1 and (settled_at is null or settled_at > $2))`;

/** $1 payer, $2 settledSince, $3 now: receipts not yet reflected in a balance read now, plus leases. */
export const USED_SQL = `select ${UNSETTLED} + (select coalesce(sum(amount), 0) from credit_leases
    where payer = $1 and expires_at > $3) as used`;

/**
 * Like USED_SQL in two parts and without the leases of holder $4 (the caller knows its own better):
 * `unsettled` charges and `leased` by the other routers.
 */
export const USED_PARTS_SQL = `select ${UNSETTLED} as unsettled, (select coalesce(sum(amount), 0)
    from credit_leases where payer = $1 and expires_at > $3 and holder <> $4) as leased`;

/** Like USED_SQL but without the leases of holder $4 (the caller knows its own better). */
export const USED_BY_OTHERS_SQL = `select unsettled + leased as used from (${USED_PARTS_SQL}) as parts`;

/** Receipts settled after this still count: a balance read up to `maxAgeMs` ago may predate their debit. */
export function settledSince(credits: CreditsSource, now: number): number {
  return now - credits.maxAgeMs - CLOCK_MARGIN_MS;
}

/**
 * Serialises every credit change of one payer among routers sharing a server (transaction-scoped). PGlite
 * has one session whose transactions already run one at a time: the lock would add nothing.
 */
export async function lockPayer(tx: Queryable, kind: StoreKind, payer: Address): Promise<void> {
  if (kind === 'pglite') return;
  await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [
    `neurino.credits:${payer.toLowerCase()}`,
  ]);
}
