// Opening a router's metering: what an earlier run journaled goes to the store first (idempotently),
// then that run's leases are dropped (its jobs died with it); then this run's leases are kept alive.
import type { Queryable } from '../store/store.ts';
import { CreditLeases } from './credit-leases.ts';
import { JournalFile, type JournalSync } from './journal-file.ts';
import { Metering, type MeteringOptions } from './metering.ts';
import { MeteringEntrySchema } from './metering-entries.ts';
import { type IngestOutcome, ingestBatch } from './metering-ingest.ts';
import { MAX_BATCH } from './metering-store-feed.ts';

export interface OpenMeteringOptions extends Omit<MeteringOptions, 'journal'> {
  /** The router's journal directory; absent: no journal (each step waits for its store commit). */
  journalDir?: string | undefined;
  /**
   * 'os' (default): a step resolves once written to the journal file, surviving a crash of the router (a
   * power loss may take the last ~1 ms); 'disk': once on disk, surviving a power loss too (slower).
   */
  journalSync?: JournalSync | undefined;
  /** How often leases are extended and idle ones returned (default 15 s). */
  maintenanceMs?: number;
  /** A lease unused this long with nothing held is given back (default 60 s). */
  idleLeaseMs?: number;
}

export interface OpenedMetering {
  metering: Metering;
  /** Entries an earlier run journaled and this start stored. */
  recovered: number;
  /** Waits for the store, gives back this router's leases, closes the journal. */
  close(): Promise<void>;
}

/**
 * Opens metering for a router: first stores what an earlier run journaled (idempotently), then drops that
 * run's leases (its jobs died with it), then keeps this run's leases alive.
 */
export async function openMetering(options: OpenMeteringOptions): Promise<OpenedMetering> {
  const { store, holder, logger } = options;
  let journal: JournalFile | undefined;
  let recovered = 0;
  let rejected = 0;
  if (options.journalDir !== undefined) {
    const opened = await JournalFile.open(options.journalDir, (line) => MeteringEntrySchema.parse(line), {
      sync: options.journalSync,
    });
    journal = opened.journal;
    const { records } = opened.recovered;
    const refused: IngestOutcome['refused'] = [];
    for (let at = 0; at < records.length; at += MAX_BATCH) {
      const batch = records.slice(at, at + MAX_BATCH);
      refused.push(...(await ingestBatch(store, holder, batch, options.attester)).refused);
    }
    rejected = refused.length;
    if (refused.length > 0) {
      logger.error(
        { jobs: refused.map((r) => r.entry.job.public_id), err: refused[0]?.error },
        'the store refused journaled metering entries; kept in rejected.jsonl',
      );
      await journal.reject(refused.map((r) => ({ record: r.entry, reason: String(r.error) })));
    }
    await opened.recovered.discard();
    recovered = records.length;
    if (recovered > 0) logger.info({ entries: recovered }, 'metering journal of the last run stored');
  }
  // The last run's jobs died with it: its leases go, and its jobs still open end as failed (free).
  await CreditLeases.dropHolder(store, holder);
  const ended = await endAbandonedJobs(store, holder);
  if (ended > 0) logger.warn({ jobs: ended }, 'jobs left running by the last run ended as failed');
  const metering = new Metering({ ...options, journal });
  metering.countRejected(rejected);
  const maintenanceMs = options.maintenanceMs ?? 15_000;
  const timer = setInterval(() => {
    void (async () => {
      await metering.leases.extend();
      await metering.leases.returnIdle(options.idleLeaseMs ?? 60_000);
    })().catch((error: unknown) => logger.warn({ err: error }, 'lease upkeep failed; retrying'));
  }, maintenanceMs);
  timer.unref();
  let closing: Promise<void> | undefined;
  const close = async () => {
    clearInterval(timer);
    try {
      await metering.flush();
      await metering.leases.returnIdle(0);
    } finally {
      metering.stop();
      await journal?.close();
    }
  };
  return { metering, recovered, close: () => (closing ??= close()) };
}

/** Ends the jobs `holder`'s last run left queued or running: failed, `service_unavailable`, no charge. */
async function endAbandonedJobs(store: Queryable, holder: string): Promise<number> {
  const rows = await store.query(
    `update jobs set status = 'failed', error_code = 'service_unavailable',
       error_message = 'the router restarted while the job ran', finished_at = $2
     where holder = $1 and status in ('queued', 'running') returning job_id`,
    [holder, Date.now()],
  );
  return rows.length;
}
