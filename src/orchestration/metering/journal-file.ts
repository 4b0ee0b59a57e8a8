// An append-only journal of JSON lines in segment files, with a choice of durability as databases offer
// (MySQL innodb_flush_log_at_trx_commit=2, PostgreSQL synchronous_commit=off):
// - 'os' (default): `append` writes the line to the file in the call itself, so when its promise resolves
//   the kernel holds it and no crash or kill of this process can lose it; a background fdatasync runs
//   whenever data is unsynced, so a power loss or kernel crash loses at most the last sync window (~1 ms).
//   A failed fdatasync stops the journal (fail-stop, as PostgreSQL): dirty pages may be gone.
// - 'disk': segments are opened O_DSYNC with group commit (the records appended while a write is on disk go
//   out in the next single write), so a record is on disk when its promise resolves.
// Segments are deleted once the caller says their records are stored elsewhere; on open, the records of
// earlier runs come back.
import { ftruncateSync, writeSync } from 'node:fs';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import { BackgroundDatasync } from './journal-datasync.ts';
import { openSegment, readSegments, type Segment, segmentNumbers, segmentPath } from './journal-segment.ts';

/** Records that could never be stored: kept for an operator, never replayed. */
export const REJECTED_FILE = 'rejected.jsonl';
/** A segment is closed past this size (or at idle past `IDLE_ROLL_BYTES`) so files stay small. */
const MAX_SEGMENT_BYTES = 8 * 1024 * 1024;
const IDLE_ROLL_BYTES = 256 * 1024;

/** 'os': an appended record survives a crash of the process; 'disk': also a power loss (slower). */
export type JournalSync = 'os' | 'disk';

export interface JournalFileOptions {
  /** Default 'os'. */
  sync?: JournalSync | undefined;
}

export interface Recovered<T> {
  records: T[];
  /** Deletes the recovered segments: call once their records are stored elsewhere. */
  discard(): Promise<void>;
}

interface Waiting {
  line: string;
  resolve: (segment: number) => void;
  reject: (error: unknown) => void;
}

/** Why the journal takes no more records. */
interface Failure {
  message: string;
  cause: unknown;
}

const SYNC_FAILED = 'the metering journal could not be synced to disk; it takes no records until a restart';

export class JournalFile {
  readonly #dir: string;
  readonly #mode: JournalSync;
  #current: Segment;
  readonly #segments = new Map<number, Segment>();
  #waiting: Waiting[] = [];
  #draining = false;
  #writing: Promise<void> = Promise.resolve();
  readonly #datasync = new BackgroundDatasync((cause) => this.#fail(SYNC_FAILED, cause));
  #failure: Failure | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(dir: string, mode: JournalSync, first: Segment) {
    this.#dir = dir;
    this.#mode = mode;
    this.#current = first;
    this.#segments.set(first.number, first);
  }

  /** Opens the journal in `dir`, returning what earlier runs left in it (oldest first). */
  static async open<T>(
    dir: string,
    parse: (line: unknown) => T,
    options: JournalFileOptions = {},
  ): Promise<{ journal: JournalFile; recovered: Recovered<T> }> {
    const mode = options.sync ?? 'os';
    if (mode !== 'os' && mode !== 'disk') {
      throw new FatalError('invalid_request', {
        message: `journal sync must be 'os' or 'disk', got ${mode}`,
      });
    }
    await mkdir(dir, { recursive: true });
    const numbers = await segmentNumbers(dir);
    const records = await readSegments(dir, numbers, parse);
    const next = (numbers.at(-1) ?? 0) + 1;
    const journal = new JournalFile(dir, mode, await openSegment(dir, next, mode === 'disk'));
    return {
      journal,
      recovered: {
        records,
        discard: async () => {
          for (const number of numbers) await unlink(segmentPath(dir, number));
        },
      },
    };
  }

  /**
   * Resolves with the segment the record went to: in 'os' mode once written to the file (within this call
   * unless a segment roll is under way), in 'disk' mode once on disk. A record not written rejects.
   */
  append(record: unknown): Promise<number> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.reject(refused);
    let line: string;
    try {
      // undefined (or a function) has no JSON: its line would be read back as a corrupt one.
      const json = JSON.stringify(record) as string | undefined;
      if (json === undefined) throw new TypeError('a journal record must have a JSON form');
      line = `${json}\n`;
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#mode === 'os' && !this.#draining && !this.#mustRoll()) {
      const segment = this.#current;
      try {
        this.#writeNow(segment, Buffer.from(line), 1);
      } catch (error) {
        return Promise.reject(error);
      }
      // A full segment rolls in the background; appends meanwhile queue behind the roll, in order.
      if (this.#mustRoll()) this.#drainInBackground();
      return Promise.resolve(segment.number);
    }
    const done = new Promise<number>((resolve, reject) => this.#waiting.push({ line, resolve, reject }));
    this.#drainInBackground();
    return done;
  }

  /** Resolves once every record whose append resolved is on disk; rejects once the journal failed. */
  synced(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(failureError(this.#failure));
    return this.#datasync.synced();
  }

  /** `count` records of `segment` are stored elsewhere now; a sealed segment with none left goes. */
  async release(segment: number, count: number): Promise<void> {
    const entry = this.#segments.get(segment);
    if (entry === undefined) return;
    entry.open -= count;
    // The current segment is rolled by the writer (see #drain), never under a write in flight.
    if (entry.sealed && entry.open <= 0) await this.#remove(entry);
  }

  /**
   * Keeps records the caller could never store (with why) in `rejected.jsonl` beside the segments, synced,
   * for an operator to look at; they are not replayed. Release them from their segments afterwards.
   */
  async reject(records: ReadonlyArray<{ record: unknown; reason: string }>): Promise<void> {
    if (records.length === 0) return;
    const at = new Date().toISOString();
    const text = records.map(({ record, reason }) => `${JSON.stringify({ at, reason, record })}\n`).join('');
    const handle = await open(join(this.#dir, REJECTED_FILE), 'a', 0o600);
    try {
      await handle.appendFile(text);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  /**
   * Waits for pending writes and syncs, syncs every segment, then closes the files (records not released
   * stay for the next open). Rejects if the journal could not sync.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    await this.#writing;
    await this.#datasync.idle();
    for (const segment of this.#segments.values()) {
      try {
        // A graceful stop leaves everything on disk ('disk' mode wrote it there already).
        if (this.#mode === 'os' && this.#failure === undefined) await segment.handle.datasync();
      } catch (cause) {
        this.#fail(SYNC_FAILED, cause);
      }
      await segment.handle.close();
    }
    if (this.#failure !== undefined) throw failureError(this.#failure);
  }

  #refusal(): RetryableError | undefined {
    if (this.#failure !== undefined) return failureError(this.#failure);
    if (this.#closed)
      return new RetryableError('service_unavailable', { message: 'the metering journal is closed' });
    return undefined;
  }

  /** A segment closes when full, or at idle once it is large and everything in it is stored elsewhere. */
  #mustRoll(): boolean {
    const { bytes, open } = this.#current;
    return bytes >= MAX_SEGMENT_BYTES || (open <= 0 && bytes >= IDLE_ROLL_BYTES);
  }

  #drainInBackground(): void {
    if (this.#draining) return;
    // Set before the drain starts and cleared inside it, so no append finds a finished drain still marked.
    this.#draining = true;
    this.#writing = this.#drain();
  }

  // Rolls segments and writes what queued, oldest first: in 'disk' mode every append (group commit), in
  // 'os' mode only what arrived during a roll.
  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0 || this.#mustRoll()) {
        if (this.#mustRoll()) {
          try {
            await this.#roll();
          } catch (error) {
            // No segment to write to: refuse what waits; the next append tries again.
            for (const w of this.#waiting.splice(0)) w.reject(error);
            return;
          }
        }
        const batch = this.#waiting.splice(0);
        if (batch.length === 0) continue;
        const segment = this.#current;
        try {
          if (this.#failure !== undefined) throw failureError(this.#failure);
          const buffer = Buffer.from(batch.map((w) => w.line).join(''));
          if (this.#mode === 'os') this.#writeNow(segment, buffer, batch.length);
          else await this.#writeOnDisk(segment, buffer, batch.length);
        } catch (error) {
          for (const w of batch) w.reject(error);
          continue;
        }
        for (const w of batch) w.resolve(segment.number);
      }
    } finally {
      this.#draining = false;
    }
  }

  /** 'os' mode: writes `buffer` now, without leaving this thread; the kernel has it when this returns. */
  #writeNow(segment: Segment, buffer: Buffer, count: number): void {
    let at = 0;
    try {
      // A write may take only part of the buffer (a full disk, a file size limit): go on until refused.
      while (at < buffer.length) at += writeSync(segment.handle.fd, buffer, at, buffer.length - at);
    } catch (error) {
      // Refused records must not come back at the next open: cut what part of them reached the file.
      if (at > 0) {
        try {
          ftruncateSync(segment.handle.fd, segment.bytes);
        } catch (cause) {
          this.#fail('the metering journal could not cut a failed write', cause);
        }
      }
      throw error;
    }
    segment.bytes += buffer.length;
    segment.open += count;
    this.#datasync.wrote(segment.handle);
  }

  /** 'disk' mode: the segment is O_DSYNC, so a write returns once its data is on disk (one system call). */
  async #writeOnDisk(segment: Segment, buffer: Buffer, count: number): Promise<void> {
    let at = 0;
    try {
      while (at < buffer.length) {
        at += (await segment.handle.write(buffer, at, buffer.length - at, null)).bytesWritten;
      }
    } catch (error) {
      if (at > 0) {
        await segment.handle
          .truncate(segment.bytes)
          .catch((cause: unknown) => this.#fail('the metering journal could not cut a failed write', cause));
      }
      throw error;
    }
    segment.bytes += buffer.length;
    segment.open += count;
  }

  /** Stops the journal for good: after a failed sync the kernel may have dropped the unsynced pages. */
  #fail(message: string, cause: unknown): void {
    this.#failure ??= { message, cause };
    this.#datasync.abandon(failureError(this.#failure));
  }

  async #roll(): Promise<void> {
    const old = this.#current;
    const next = await openSegment(this.#dir, old.number + 1, this.#mode === 'disk');
    old.sealed = true;
    this.#current = next;
    this.#segments.set(next.number, next);
    // Its records are all stored elsewhere: a file left behind would only be replayed (idempotently).
    if (old.open <= 0) await this.#remove(old).catch(() => {});
  }

  async #remove(segment: Segment): Promise<void> {
    this.#segments.delete(segment.number);
    this.#datasync.forget(segment.handle);
    await segment.handle.close();
    await unlink(segmentPath(this.#dir, segment.number));
  }
}

function failureError(failure: Failure): RetryableError {
  return new RetryableError('service_unavailable', { message: failure.message, cause: failure.cause });
}
