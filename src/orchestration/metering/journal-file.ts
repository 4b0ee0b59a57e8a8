// An append-only journal of JSON lines in segment files, with group commit: every record appended
// while a write is on disk goes out in the next single synchronous-data write, so a record is durable when
// its promise resolves and a busy router pays one sync for many records. Segments are deleted once the
// caller says their records are stored elsewhere; on open, the records of earlier runs come back.
import { constants, type FileHandle, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FatalError, RetryableError } from '../../protocol/errors.ts';

const SEGMENT = /^journal-(\d{12})\.jsonl$/;
/** Records that could never be stored: kept for an operator, never replayed. */
export const REJECTED_FILE = 'rejected.jsonl';
/** A segment is closed past this size (or at idle past `IDLE_ROLL_BYTES`) so files stay small. */
const MAX_SEGMENT_BYTES = 8 * 1024 * 1024;
const IDLE_ROLL_BYTES = 256 * 1024;

export interface Recovered<T> {
  records: T[];
  /** Deletes the recovered segments: call once their records are stored elsewhere. */
  discard(): Promise<void>;
}

interface Segment {
  number: number;
  handle: FileHandle;
  bytes: number;
  /** Records written and not yet released. */
  open: number;
  sealed: boolean;
}

interface Waiting {
  line: string;
  resolve: (segment: number) => void;
  reject: (error: unknown) => void;
}

export class JournalFile {
  readonly #dir: string;
  #current: Segment;
  readonly #segments = new Map<number, Segment>();
  #waiting: Waiting[] = [];
  #writing: Promise<void> | undefined;
  #closed = false;

  private constructor(dir: string, first: Segment) {
    this.#dir = dir;
    this.#current = first;
    this.#segments.set(first.number, first);
  }

  /** Opens the journal in `dir`, returning what earlier runs left in it (oldest first). */
  static async open<T>(
    dir: string,
    parse: (line: unknown) => T,
  ): Promise<{ journal: JournalFile; recovered: Recovered<T> }> {
    await mkdir(dir, { recursive: true });
    const numbers = (await readdir(dir))
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const records: T[] = [];
    for (const number of numbers) {
      const text = await readFile(segmentPath(dir, number), 'utf8');
      const lines = text.split('\n');
      // Every write ends in a newline, so a segment that does not was cut by a crash mid-write: its last
      // line was never acknowledged. Not only in the last segment: a start that died before discarding
      // this one left its own (empty) segment after it.
      const complete = text.endsWith('\n') ? lines : lines.slice(0, -1);
      for (const [at, line] of complete.entries()) {
        if (line === '') continue;
        try {
          records.push(parse(JSON.parse(line)));
        } catch (cause) {
          throw new FatalError('internal_error', {
            message: `journal ${segmentPath(dir, number)} line ${at + 1} is corrupt; move the file aside to start`,
            cause,
          });
        }
      }
    }
    const next = (numbers.at(-1) ?? 0) + 1;
    const journal = new JournalFile(dir, await openSegment(dir, next));
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

  /** Resolves, with the segment the record went to, once it is on disk. */
  append(record: unknown): Promise<number> {
    if (this.#closed)
      return Promise.reject(
        new RetryableError('service_unavailable', { message: 'the metering journal is closed' }),
      );
    const line = `${JSON.stringify(record)}\n`;
    const done = new Promise<number>((resolve, reject) => this.#waiting.push({ line, resolve, reject }));
    this.#writing ??= this.#drain().finally(() => {
      this.#writing = undefined;
    });
    return done;
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

  /** Waits for pending writes, then closes the files (records not released stay for the next open). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#writing;
    for (const segment of this.#segments.values()) await segment.handle.close();
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      // Everything in the current segment is stored elsewhere: start afresh rather than grow it.
      if (this.#current.open <= 0 && this.#current.bytes >= IDLE_ROLL_BYTES) await this.#roll();
      const batch = this.#waiting;
      this.#waiting = [];
      const segment = this.#current;
      try {
        const buffer = Buffer.from(batch.map((w) => w.line).join(''));
        // Segments are opened O_DSYNC: a write returns once its data is on disk, one system call
        // instead of write + fdatasync. It may take only part of the buffer (a full disk): go on.
        for (let at = 0; at < buffer.length; ) {
          at += (await segment.handle.write(buffer, at, buffer.length - at, null)).bytesWritten;
        }
        segment.bytes += buffer.length;
        segment.open += batch.length;
      } catch (error) {
        // Refused records must not come back at the next open: cut what part of them reached the file.
        await segment.handle.truncate(segment.bytes).catch(() => {});
        for (const w of batch) w.reject(error);
        continue;
      }
      for (const w of batch) w.resolve(segment.number);
      if (segment.bytes >= MAX_SEGMENT_BYTES) await this.#roll();
    }
  }

  async #roll(): Promise<void> {
    const old = this.#current;
    old.sealed = true;
    this.#current = await openSegment(this.#dir, old.number + 1);
    this.#segments.set(this.#current.number, this.#current);
    if (old.open <= 0) await this.#remove(old);
  }

  async #remove(segment: Segment): Promise<void> {
    this.#segments.delete(segment.number);
    await segment.handle.close();
    await unlink(segmentPath(this.#dir, segment.number));
  }
}

function segmentPath(dir: string, number: number): string {
  return join(dir, `journal-${String(number).padStart(12, '0')}.jsonl`);
}

async function openSegment(dir: string, number: number): Promise<Segment> {
  const { O_APPEND, O_CREAT, O_DSYNC, O_WRONLY } = constants;
  const handle = await open(segmentPath(dir, number), O_WRONLY | O_CREAT | O_APPEND | O_DSYNC, 0o600);
  // The new file's name must be durable too, or a power loss could take the records synced into it.
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
  return { number, handle, bytes: 0, open: 0, sealed: false };
}
