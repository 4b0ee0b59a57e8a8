// Credits a router holds for each active payer, so a job's reservation is a subtraction in memory rather
// than a database transaction. The lease is a row (holder, payer, amount) that every router counts as
// used; it covers what this router holds for running jobs (`held`), what it charged and has not stored as
// receipts yet (`pending`), and some room for the next jobs. It is renewed from the store and the chain
// at most every `revalidateMs` (or when it runs short), never beyond what the payer has available. An
// active payer's lease is renewed ahead of need (when three quarters of `revalidateMs` have passed, or
// when it is getting short), in the background: its reservations go on from the current lease meanwhile,
// and wait only for the renewal's last write, so a steady stream of requests never stalls on one.
import type { Address } from 'viem';
import { bigintOf } from '../store/sql-values.ts';
import type { Queryable, Store } from '../store/store.ts';
import type { CreditsSource } from './credits-source.ts';
import { lockPayer, settledSince, USED_BY_OTHERS_SQL } from './credits-used.ts';

export interface Lease {
  readonly payer: Address;
  /** The lease row's amount as this router last wrote it (ingesting receipts lowers both). */
  amount: bigint;
  held: bigint;
  pending: bigint;
  checkedAt: number;
  lastUsedAt: number;
  /** A renewal under way (or its last write, for one ahead of need): reservations of this payer wait for it. */
  busy: Promise<unknown> | undefined;
  /** A renewal ahead of need under way (settles, never rejects): reservations go on from the lease meanwhile. */
  refreshing: Promise<void> | undefined;
}

export interface CreditLeasesOptions {
  store: Store;
  credits: CreditsSource;
  holder: string;
  /** Serialises this router's writes to the store (lease renewals and receipt ingestion). */
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
  /** A lease row outlives its last renewal by this much (a router that died stops holding then). */
  ttlMs: number;
  /** How old a lease's check of the payer's credits may be before a reservation renews it. */
  revalidateMs: number;
  /** A renewal takes room for this many reservations like the one that asked. */
  leaseJobs: number;
}

export type Grant = { ok: true } | { ok: false; available: bigint };

export class CreditLeases {
  readonly #options: CreditLeasesOptions;
  readonly #leases = new Map<Address, Lease>();

  constructor(options: CreditLeasesOptions) {
    this.#options = options;
  }

  get holder(): string {
    return this.#options.holder;
  }

  lease(payer: Address): Lease | undefined {
    return this.#leases.get(payer);
  }

  values(): IterableIterator<Lease> {
    return this.#leases.values();
  }

  /** Holds `amount` of the payer's credits; renews the lease first when it is stale or short. */
  async hold(payer: Address, amount: bigint, now: number = Date.now()): Promise<Grant> {
    let lease = this.#leases.get(payer);
    if (lease === undefined) {
      lease = {
        payer,
        amount: 0n,
        held: 0n,
        pending: 0n,
        checkedAt: 0,
        lastUsedAt: now,
        busy: undefined,
        refreshing: undefined,
      };
      this.#leases.set(payer, lease);
    }
    for (;;) {
      while (lease.busy !== undefined) await lease.busy;
      lease.lastUsedAt = now;
      const age = now - lease.checkedAt;
      const { revalidateMs, leaseJobs } = this.#options;
      if (age < revalidateMs && free(lease) >= amount) {
        lease.held += amount;
        const aging = age >= (revalidateMs * 3) / 4;
        // Short: room for under a quarter of a lease's jobs. Not again within a tenth of `revalidateMs`:
        // a payer whose credits cap the lease would otherwise renew after every job.
        const short = age >= revalidateMs / 10 && free(lease) < amount * BigInt(Math.ceil(leaseJobs / 4));
        if ((aging || short) && lease.refreshing === undefined) this.#renewAhead(lease, amount);
        return { ok: true };
      }
      // A renewal ahead of need is under way: its outcome may do. Never two renewals of one lease at once.
      if (lease.refreshing !== undefined) {
        await lease.refreshing;
        continue;
      }
      // What this payer's running jobs cover now: the renewal may run only after they ended (it waits its
      // turn behind the store's other writes, and new reservations wait for it).
      const demand = lease.held + lease.pending;
      const renewal = this.#options.serial(() => this.#renew(lease, amount, demand, 'blocking'));
      // Waiters only need it settled (they retry on their own); its error is the caller's, not unhandled.
      lease.busy = renewal
        .catch(() => undefined)
        .finally(() => {
          lease.busy = undefined;
        });
      return renewal;
    }
  }

  /** Forgets idle leases (nothing held or pending, unused for `idleMs`), deleting their rows. */
  async returnIdle(idleMs: number, now: number = Date.now()): Promise<number> {
    const idle = [...this.#leases.values()].filter(
      (l) =>
        l.busy === undefined &&
        l.refreshing === undefined &&
        l.held === 0n &&
        l.pending === 0n &&
        now - l.lastUsedAt >= idleMs,
    );
    if (idle.length === 0) return 0;
    for (const lease of idle) this.#leases.delete(lease.payer);
    await this.#options.serial(() =>
      this.#options.store.query('delete from credit_leases where holder = $1 and payer = any($2::text[])', [
        this.#options.holder,
        `{${idle.map((l) => l.payer).join(',')}}`,
      ]),
    );
    return idle.length;
  }

  /** Pushes every lease row's expiry forward (a live router keeps holding). */
  async extend(now: number = Date.now()): Promise<void> {
    if (this.#leases.size === 0) return;
    await this.#options.serial(() =>
      this.#options.store.query('update credit_leases set expires_at = $2 where holder = $1', [
        this.#options.holder,
        now + this.#options.ttlMs,
      ]),
    );
  }

  /** Rows of an earlier run of this holder: its jobs died with it. */
  static async dropHolder(db: Queryable, holder: string): Promise<number> {
    const rows = await db.query('delete from credit_leases where holder = $1 returning payer', [holder]);
    return rows.length;
  }

  /**
   * Renews in the background; reservations go on from the current lease until the renewal's last write. A
   * failure changes nothing: the lease ages, and the reservation that finds it stale renews in its path
   * (and hears of the error).
   */
  #renewAhead(lease: Lease, amount: bigint): void {
    const demand = lease.held + lease.pending;
    lease.refreshing = this.#options
      .serial(() => this.#renew(lease, amount, demand, 'ahead'))
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        lease.refreshing = undefined;
      });
  }

  /**
   * 'blocking': reservations already wait (`busy`), and `amount` is held for the one that asked when
   * granted. 'ahead': `amount` (a job like the last one) only sizes the lease; reservations are held off
   * only while the new amount is computed, written and committed, so none is granted from room the new
   * lease no longer has.
   */
  async #renew(lease: Lease, amount: bigint, demand: bigint, mode: 'blocking' | 'ahead'): Promise<Grant> {
    const { store, credits, holder, ttlMs, leaseJobs } = this.#options;
    const asking = mode === 'blocking' ? amount : 0n;
    // Read before the transaction: no lock is held across an RPC call.
    const balance = await credits.balanceOf(lease.payer);
    let thaw: (() => void) | undefined;
    try {
      const outcome = await store.transaction(
        async (tx): Promise<Grant & { total?: bigint; at?: number }> => {
          const now = Date.now();
          await lockPayer(tx, store.kind, lease.payer);
          const [row] = await tx.query<{ used: unknown }>(USED_BY_OTHERS_SQL, [
            lease.payer,
            settledSince(credits, now),
            now,
            holder,
          ]);
          const room = balance - bigintOf(row?.used ?? 0);
          // From here to the commit no reservation is granted: what is covered stays what is counted. A
          // blocking renewal holds reservations off already; a transaction retried freezes once.
          if (mode === 'ahead' && thaw === undefined) {
            lease.busy = new Promise<void>((resolve) => {
              thaw = () => {
                lease.busy = undefined;
                resolve();
              };
            });
          }
          const covered = lease.held + lease.pending;
          if (room - covered < asking) return { ok: false, available: room - covered };
          // Room for more jobs like this one, but at most half of what is left: another router serving the
          // same payer still finds credits (a lease never takes a small balance whole). The jobs that ended
          // while this renewal waited are, in a steady stream of requests, about to be replaced: room for
          // them too, or a lease sized on the emptied moment runs short again within a few jobs (measured:
          // a renewal every few dozen jobs, each blocking the payer's reservations for 15-60 ms).
          const drained = demand > covered ? demand - covered : 0n;
          const spare = (room - covered - asking) / 2n;
          // `leaseJobs` jobs like this one beyond what is covered, counting the one that asked.
          const ahead = amount * BigInt(Math.max(1, Math.trunc(leaseJobs))) - asking + drained;
          const total = covered + asking + (ahead < spare ? ahead : spare);
          await tx.query(
            `insert into credit_leases (holder, payer, amount, created_at, expires_at) values ($1, $2, $3, $4, $5)
           on conflict (holder, payer) do update set amount = excluded.amount, expires_at = excluded.expires_at`,
            [holder, lease.payer, total, now, now + ttlMs],
          );
          return { ok: true, total, at: now };
        },
      );
      // Only once committed: a transaction retried or rolled back leaves the lease as it was.
      if (outcome.ok && outcome.total !== undefined && outcome.at !== undefined) {
        lease.amount = outcome.total;
        lease.checkedAt = outcome.at;
        lease.held += asking;
        return { ok: true };
      }
      return outcome.ok ? { ok: true } : { ok: false, available: outcome.available };
    } finally {
      thaw?.();
    }
  }
}

function free(lease: Lease): bigint {
  return lease.amount - lease.held - lease.pending;
}
