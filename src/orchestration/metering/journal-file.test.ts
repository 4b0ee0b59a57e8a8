// The journal on a real directory: group commit, order, torn and corrupt lines, segments released and
// rolled, records surviving a restart. Observed through the segment files, never through timing.
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FatalError } from '../../protocol/errors.ts';
import { JournalFile } from './journal-file.ts';

/** The journal's own limits (journal-file.ts): a segment closes at 8 MiB, or at idle past 256 KiB. */
const MAX_SEGMENT_BYTES = 8 * 1024 * 1024;
const IDLE_ROLL_BYTES = 256 * 1024;

const Record = z.object({ n: z.int() }).or(z.object({ pad: z.string() }));
type Record = z.infer<typeof Record>;
const parse = (line: unknown) => Record.parse(line);

let dir: string;
const opened: JournalFile[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'neurino-journal-'));
});

afterEach(async () => {
  for (const journal of opened.splice(0)) await journal.close();
  await rm(dir, { recursive: true, force: true });
});

async function openJournal() {
  const result = await JournalFile.open(dir, parse);
  opened.push(result.journal);
  return result;
}

const segmentName = (n: number) => `journal-${String(n).padStart(12, '0')}.jsonl`;
const segments = async () => (await readdir(dir)).filter((name) => name.endsWith('.jsonl')).sort();
const linesOf = async (n: number) =>
  (await readFile(join(dir, segmentName(n)), 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record);
const numbered = (count: number, from = 0): Record[] =>
  Array.from({ length: count }, (_, i) => ({ n: from + i }));

describe('JournalFile', () => {
  it('keeps records in append order and returns them at the next open', async () => {
    const { journal, recovered } = await openJournal();
    expect(recovered.records).toEqual([]);
    const records = numbered(200);
    expect(await Promise.all(records.map((r) => journal.append(r)))).toEqual(records.map(() => 1));
    expect(await linesOf(1)).toEqual(records);
    await journal.close();

    const again = await openJournal();
    expect(again.recovered.records).toEqual(records);
    // A new run writes to a new segment; the old one goes once its records are stored elsewhere.
    expect(await again.journal.append({ n: 200 })).toBe(2);
    await again.recovered.discard();
    expect(await segments()).toEqual([segmentName(2)]);
  });

  it('commits the records appended during a write together, in the next single write', async () => {
    const { journal } = await openJournal();
    // The first write takes only this record, which leaves its segment 4 bytes short of full. Were the
    // next records written one by one, the first of them would fill the segment and the rest would go
    // to segment 2; written as one group, they all land in segment 1, which then rolls.
    const big: Record = { pad: 'x'.repeat(MAX_SEGMENT_BYTES - 4 - '{"pad":""}\n'.length) };
    const first = journal.append(big);
    const small = numbered(100);
    const rest = small.map((r) => journal.append(r));
    expect(await first).toBe(1);
    expect(await Promise.all(rest)).toEqual(small.map(() => 1));
    expect(await journal.append({ n: 100 })).toBe(2);
    expect(await linesOf(1)).toEqual([big, ...small]);
    expect(await linesOf(2)).toEqual([{ n: 100 }]);

    // A sealed segment goes once every record in it is released, not before.
    await journal.release(1, 100);
    expect(await segments()).toEqual([segmentName(1), segmentName(2)]);
    await journal.release(1, 1);
    expect(await segments()).toEqual([segmentName(2)]);
  });

  it('rolls an idle segment once everything in it is released', async () => {
    const { journal } = await openJournal();
    const pad = (c: string): Record => ({ pad: c.repeat(IDLE_ROLL_BYTES / 2) });
    await Promise.all([journal.append(pad('a')), journal.append(pad('b'))]);
    await journal.release(1, 1);
    // One record still open: the segment keeps growing.
    expect(await journal.append({ n: 1 })).toBe(1);
    await journal.release(1, 2);
    expect(await journal.append({ n: 2 })).toBe(2);
    expect(await segments()).toEqual([segmentName(2)]);
    // A small segment is not rolled at idle: released records stay until it grows (replays are idempotent).
    await journal.release(2, 1);
    expect(await journal.append({ n: 3 })).toBe(2);
    await journal.close();
    expect((await openJournal()).recovered.records).toEqual([{ n: 2 }, { n: 3 }]);
  });

  it('ignores a torn last line (a crash mid-write), also once a later start left a segment after it', async () => {
    const { journal } = await openJournal();
    await Promise.all(numbered(3).map((r) => journal.append(r)));
    await journal.close();
    await appendFile(join(dir, segmentName(1)), '{"n":3,"pa');
    const second = await openJournal();
    expect(second.recovered.records).toEqual(numbered(3));
    // That start died before it could store and discard them: its own (empty) segment now follows.
    await second.journal.close();
    const third = await openJournal();
    expect(third.recovered.records).toEqual(numbered(3));
    expect(await third.journal.append({ n: 4 })).toBe(3);
  });

  it('refuses to open on a corrupt line that is not the torn end, naming the file and line', async () => {
    const { journal } = await openJournal();
    await Promise.all(numbered(3).map((r) => journal.append(r)));
    await journal.close();
    const path = join(dir, segmentName(1));
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('{"n":1}', '{"n":1,'));
    const error = await JournalFile.open(dir, parse).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect(error).toMatchObject({ code: 'internal_error', retryable: false });
    expect((error as Error).message).toBe(`journal ${path} line 2 is corrupt; move the file aside to start`);

    // Valid JSON the caller's parser refuses is just as corrupt.
    await writeFile(path, text.replace('{"n":1}', '{"n":"one"}'));
    await expect(JournalFile.open(dir, parse)).rejects.toMatchObject({
      message: expect.stringMatching(/line 2 is corrupt/),
    });
  });

  it('refuses appends once closed and keeps what was not released for the next open', async () => {
    const { journal } = await openJournal();
    const pending = [journal.append({ n: 0 }), journal.append({ n: 1 })];
    await journal.close();
    expect(await Promise.all(pending)).toEqual([1, 1]);
    await expect(journal.append({ n: 2 })).rejects.toMatchObject({
      code: 'service_unavailable',
      retryable: true,
    });
    // Releasing an unknown segment changes nothing.
    await journal.release(99, 1);
    expect((await openJournal()).recovered.records).toEqual(numbered(2));
  });

  it('opens an empty or missing directory, ignoring files that are not segments', async () => {
    await writeFile(join(dir, 'notes.txt'), 'not a segment\n');
    await writeFile(join(dir, 'journal-1.jsonl'), 'not a segment name\n');
    const nested = join(dir, 'a', 'b');
    const { journal, recovered } = await JournalFile.open(nested, parse);
    opened.push(journal);
    expect(recovered.records).toEqual([]);
    expect((await openJournal()).recovered.records).toEqual([]);
    expect(await journal.append({ n: 0 })).toBe(1);
    expect(await readdir(nested)).toEqual([segmentName(1)]);
  });
});
