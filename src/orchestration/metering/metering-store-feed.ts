// The metering's feed to the store: the steps it made durable (journaled) or must commit (no journal),
// written in batches in the background. Journaled entries gather up to a second or a full batch, go in
// one transaction per batch (their receipts attested by the router key on the way), are retried every
// second while the store or the key refuses, and free their journal segment once stored; entries the
// store refuses for their data are kept aside in rejected.jsonl. Without a journal a step waits for its
// batch's commit (group commit).
import type { Logger } from 'pino';
import { RetryableError } from '../../protocol/errors.ts';
import type { Store } from '../store/store.ts';
import type { JournalFile } from './journal-file.ts';
import type { MeteringEntry } from './metering-entries.ts';
import { type IngestOutcome, ingestBatch } from './metering-ingest.ts';
import type { ReceiptAttester } from './receipt-attester.ts';
import type { SerialQueue } from './serial-queue.ts';
import { UnstoredEntries } from './unstored-entries.ts';

/** Entries written to the store in one transaction at most. */
export const MAX_BATCH = 512;
const RETRY_MS = 1_000;
/**
 * How long journaled entries gather before they go to the store together (or until a batch is full).
 * Long enough that a quiet router writes about once a second, so the store's work (on this thread with
 * PGlite) touches few requests; short enough that receipts settle and other routers see charges soon.
 */
export const DEFAULT_GATHER_MS = 1_000;
/** A batch this large goes at once. */
const GATHER_ENTRIES = 256;

export interface StoreFeedOptions {
  store: Store;
  /** The lease holder whose lease shrinks as its receipts are stored. */
  holder: string;
  journal: JournalFile | undefined;
  logger: Logger;
  attester: ReceiptAttester | undefined;
  /** The router's one queue of metering writes (shared with its credit leases). */
  serial: SerialQueue;
  gatherMs: number;
}

/** What a step wants to hear: durable (journaled or committed), then stored, or refused by the store. */
export interface StepHooks {
  durable?: () => void;
  stored?: () => void;
  refused?: () => void;
}

export interface StoreFeedStats {
  unstored: number;
  storeRetrying: boolean;
  rejected: number;
}

interface Queued {
  entry: MeteringEntry;
  segment?: number;
  hooks?: StepHooks;
  settle?: { resolve: () => void; reject: (error: unknown) => void };
}

export class MeteringStoreFeed {
  readonly #store: Store;
  readonly #journal: JournalFile | undefined;
  readonly #logger: Logger;
  readonly #serial: SerialQueue;
  readonly #holder: string;
  readonly #attester: ReceiptAttester | undefined;
  readonly #gatherMs: number;
  /** Entries durable but not yet in the store, by public job id (GET /v1/jobs/:id reads them). */
  readonly #unstored = new UnstoredEntries();
  #queue: Queued[] = [];
  #ingesting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #flushing = false;
  /** Entries the store refused since this metering started (kept in rejected.jsonl). */
  #rejected = 0;
  #stopped = false;
  /** Ends the current gathering wait early (a full batch, or a flush). */
  #wake: (() => void) | undefined;

  constructor(options: StoreFeedOptions) {
    this.#store = options.store;
    this.#journal = options.journal;
    this.#logger = options.logger;
    this.#serial = options.serial;
    this.#holder = options.holder;
    this.#attester = options.attester;
    this.#gatherMs = options.gatherMs;
  }

  /** Steps durable but not stored, whether ingestion waits to retry, entries refused since the start. */
  stats(): StoreFeedStats {
    return {
      unstored: this.#queue.length,
      storeRetrying: this.#retry !== undefined,
      rejected: this.#rejected,
    };
  }

  /** Counts entries refused outside this feed (an earlier run's journal, replayed at start). */
  countRejected(count: number): void {
    this.#rejected += count;
  }

  /** A job durable but not yet in the store, as its row would read; undefined otherwise. */
  unstored(publicId: string): MeteringEntry | undefined {
    return this.#unstored.get(publicId);
  }

  /** Every unstored entry of `payer`. */
  unstoredOf(payer: string): MeteringEntry[] {
    return this.#unstored.ofPayer(payer);
  }

  /** Resolves once everything recorded so far is in the store. */
  async flush(): Promise<void> {
    this.#flushing = true;
    this.#wake?.();
    try {
      while (this.#queue.length > 0 || this.#ingesting !== undefined) {
        if (this.#stopped) throw stoppedError();
        if (this.#ingesting === undefined) this.#startIngest();
        await this.#ingesting;
        if (this.#retry !== undefined && this.#queue.length > 0) {
          throw new RetryableError('service_unavailable', {
            message:
              'metering writes fail (store, or the router key attesting receipts); they stay journaled',
          });
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Makes `entry` durable (journal, or the store without one); `hooks` hear what became of it. */
  async record(entry: MeteringEntry, hooks: StepHooks = {}): Promise<void> {
    if (this.#stopped) throw stoppedError();
    if (this.#journal !== undefined) {
      const segment = await this.#journal.append(entry);
      hooks.durable?.();
      this.#unstored.add(entry);
      this.#queue.push({ entry, segment, hooks });
      if (this.#queue.length >= GATHER_ENTRIES) this.#wake?.();
      this.#startIngest();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.#queue.push({ entry, settle: { resolve, reject } });
      this.#startIngest();
    });
    hooks.durable?.();
    hooks.stored?.();
  }

  /** Stops writing to the store (what is journaled stays for the next start); for shutdown. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #startIngest(): void {
    if (this.#stopped || this.#ingesting !== undefined || this.#retry !== undefined) return;
    if (this.#queue.length === 0) return;
    // Journaled entries are durable already: gather them a moment, so the store takes few large
    // batches rather than one transaction per job. Without a journal the caller waits: go at once.
    const gather = this.#gathers() && this.#queue.length < GATHER_ENTRIES;
    const wait = gather
      ? new Promise<void>((resolve) => {
          const timer = setTimeout(wake, this.#gatherMs).unref();
          function wake() {
            clearTimeout(timer);
            resolve();
          }
          this.#wake = wake;
        })
      : undefined;
    this.#ingesting = (wait ?? Promise.resolve())
      .then(() => {
        this.#wake = undefined;
      })
      .then(() => this.#serial.run(() => this.#ingestAll()))
      .finally(() => {
        this.#ingesting = undefined;
        if (this.#retry === undefined) this.#startIngest();
      });
  }

  async #ingestAll(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, MAX_BATCH);
      let refused: IngestOutcome['refused'];
      try {
        ({ refused } = await ingestBatch(
          this.#store,
          this.#holder,
          batch.map((q) => q.entry),
          this.#attester,
        ));
      } catch (error) {
        if (this.#journal === undefined) {
          // Nothing durable yet: these steps fail, their jobs stay free.
          this.#queue.splice(0, batch.length);
          for (const q of batch) q.settle?.reject(error);
          continue;
        }
        this.#logger.error(
          { err: error, entries: this.#queue.length },
          'metering writes failed (store, or the router key attesting receipts); retrying',
        );
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          this.#startIngest();
        }, RETRY_MS);
        this.#retry.unref();
        return;
      }
      this.#queue.splice(0, batch.length);
      const failed = new Map(refused.map((r) => [r.entry, r.error]));
      if (failed.size > 0) {
        this.#rejected += failed.size;
        this.#logger.error(
          { jobs: refused.map((r) => r.entry.job.public_id), err: refused[0]?.error },
          'the store refused metering entries; kept in rejected.jsonl',
        );
        await this.#journal?.reject(refused.map((r) => ({ record: r.entry, reason: String(r.error) })));
      }
      const released = new Map<number, number>();
      for (const q of batch) {
        const error = failed.get(q.entry);
        if (error === undefined) {
          q.hooks?.stored?.();
          q.settle?.resolve();
        } else {
          q.hooks?.refused?.();
          q.settle?.reject(error);
        }
        this.#unstored.stored(q.entry);
        if (q.segment !== undefined) released.set(q.segment, (released.get(q.segment) ?? 0) + 1);
      }
      for (const [segment, count] of released) await this.#journal?.release(segment, count);
      // What arrived while this batch was written gathers again (#startIngest) unless it fills a batch:
      // going on with it at once would, under steady load, write one small batch after another, and a
      // PGlite statement costs about as much again fixed as for 256 rows (48-row batches: twice the CPU).
      if (this.#gathers() && this.#queue.length < GATHER_ENTRIES) return;
    }
  }

  /** Journaled entries may wait to be written together (durable already); on a flush they may not. */
  #gathers(): boolean {
    return this.#journal !== undefined && !this.#flushing;
  }
}

export function stoppedError(): RetryableError {
  return new RetryableError('service_unavailable', {
    message: 'metering has stopped: the router is shutting down',
  });
}
