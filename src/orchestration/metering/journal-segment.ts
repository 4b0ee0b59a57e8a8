// The journal's segment files: their names, how one is opened, and how the records of earlier runs are read
// back. The journal itself (journal-file.ts) decides what goes into which segment and when it is synced.
import { constants, type FileHandle, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FatalError } from '../../protocol/errors.ts';

const SEGMENT = /^journal-(\d{12})\.jsonl$/;

export interface Segment {
  number: number;
  handle: FileHandle;
  bytes: number;
  /** Records written and not yet released. */
  open: number;
  sealed: boolean;
}

export function segmentPath(dir: string, number: number): string {
  return join(dir, `journal-${String(number).padStart(12, '0')}.jsonl`);
}

/** The numbers of the segments in `dir`, oldest first; other files are ignored. */
export async function segmentNumbers(dir: string): Promise<number[]> {
  return (await readdir(dir))
    .map((name) => SEGMENT.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The records in the given segments, in order; a torn last line is skipped, any other bad line refused. */
export async function readSegments<T>(
  dir: string,
  numbers: readonly number[],
  parse: (line: unknown) => T,
): Promise<T[]> {
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
  return records;
}

/**
 * Opens (creates) segment `number` for appending, `O_DSYNC` when each write must reach the disk before it
 * returns, and makes its name durable.
 */
export async function openSegment(dir: string, number: number, dsync: boolean): Promise<Segment> {
  const { O_APPEND, O_CREAT, O_DSYNC, O_WRONLY } = constants;
  const flags = O_WRONLY | O_CREAT | O_APPEND | (dsync ? O_DSYNC : 0);
  const handle = await open(segmentPath(dir, number), flags, 0o600);
  try {
    // The new file's name must be durable too, or a power loss could take the records synced into it.
    const directory = await open(dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  } catch (error) {
    await handle.close();
    throw error;
  }
  return { number, handle, bytes: 0, open: 0, sealed: false };
}
