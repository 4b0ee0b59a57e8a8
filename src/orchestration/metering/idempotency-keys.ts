// Idempotency keys of the jobs API (`Idempotency-Key` on POST /v1/jobs): a payer's key names one job, so a
// request retried after a lost answer finds the job its first try made instead of running (and paying
// for) another. The claim is a row written before the job runs; routers sharing the store see it. A claim
// is forgotten when its job failed for a reason a retry may not meet, and replaced once older than a day.
import { createHash } from 'node:crypto';
import { type Address, getAddress } from 'viem';
import { canonicalJson } from '../../protocol/canonical-json.ts';
import { numberOf } from '../store/sql-values.ts';
import type { Store } from '../store/store.ts';

/** How long a key names its job: a day, as payment APIs keep theirs. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3_600_000;

export type IdempotencyClaim =
  | { claimed: true }
  | { claimed: false; publicId: string; sameRequest: boolean; claimedAt: number };

interface ClaimRow {
  public_id: string;
  request_hash: string;
  created_at: unknown;
}

export class IdempotencyKeys {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, options: { now?: () => number } = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
  }

  /** Claims `key` for the job `publicId`, or says which job holds it and whether for the same request. */
  async claim(p: {
    payer: Address;
    key: string;
    request: unknown;
    publicId: string;
  }): Promise<IdempotencyClaim> {
    const payer = getAddress(p.payer);
    const hash = requestHash(p.request);
    const now = this.#now();
    // A claim older than the time to live is taken over in the same statement.
    const [taken] = await this.#store.query<{ public_id: string }>(
      `insert into job_idempotency (payer, idempotency_key, request_hash, public_id, created_at)
       values ($1, $2, $3, $4, $5)
       on conflict (payer, idempotency_key) do update
         set request_hash = excluded.request_hash, public_id = excluded.public_id, created_at = excluded.created_at
         where job_idempotency.created_at < $6
       returning public_id`,
      [payer, p.key, hash, p.publicId, now, now - IDEMPOTENCY_KEY_TTL_MS],
    );
    if (taken !== undefined) return { claimed: true };
    const [held] = await this.#store.query<ClaimRow>(
      'select public_id, request_hash, created_at from job_idempotency where payer = $1 and idempotency_key = $2',
      [payer, p.key],
    );
    // Forgotten between the two statements: claim again.
    if (held === undefined) return this.claim(p);
    return {
      claimed: false,
      publicId: held.public_id,
      sameRequest: held.request_hash === hash,
      claimedAt: numberOf(held.created_at),
    };
  }

  /** Frees `key` if it still names `publicId`, so the next request with it runs anew. */
  async forget(p: { payer: Address; key: string; publicId: string }): Promise<void> {
    await this.#store.query(
      'delete from job_idempotency where payer = $1 and idempotency_key = $2 and public_id = $3',
      [getAddress(p.payer), p.key, p.publicId],
    );
  }
}

/** What tells two requests apart: the body's canonical JSON, hashed. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request), 'utf8').digest('hex');
}
