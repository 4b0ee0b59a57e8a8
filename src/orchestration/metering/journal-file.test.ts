// The journal on a real directory, in both durabilities: order, torn and corrupt lines, segments released
// and rolled, records surviving a restart and a killed process, and real faults (a file size limit cutting
// a write, a full device, a file that cannot be synced). Observed through the files, never through timing.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FatalError } from '../../protocol/errors.ts';
import { JournalFile, type JournalSync } from './journal-file.ts';

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
  // A test that made the journal fail has checked what close() says already.
  for (const journal of opened.splice(0)) await journal.close().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const segmentName = (n: number) => `journal-${String(n).padStart(12, '0')}.jsonl`;
const segments = async () => (await readdir(dir)).filter((name) => name.endsWith('.jsonl')).sort();
const linesOf = async (n: number) =>
  (await readFile(join(dir, segmentName(n)), 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record);
const numbered = (count: number, from = 0): Record[] =>
  Array.from({ length: count }, (_, i) => ({ n: from + i }));

/** Leaves segment 1 large with everything released, so the next append opens segment 2 first. */
async function rollOnNextAppend(journal: JournalFile): Promise<void> {
  expect(await journal.append({ pad: 'x'.repeat(IDLE_ROLL_BYTES) })).toBe(1);
  await journal.release(1, 1);
}

describe.each<JournalSync>(['os', 'disk'])("JournalFile, sync '%s'", (sync) => {
  async function openJournal() {
    const result = await JournalFile.open(dir, parse, { sync });
    opened.push(result.journal);
    return result;
  }

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

  it('has every answered record in the file at once: a fresh open reads it without a close', async () => {
    const { journal } = await openJournal();
    const records = numbered(50);
    for (const record of records) await journal.append(record);
    // As after a crash of the process: nothing closed, another open of the directory reads the files.
    expect((await openJournal()).recovered.records).toEqual(records);
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
    const error = await JournalFile.open(dir, parse, { sync }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect(error).toMatchObject({ code: 'internal_error', retryable: false });
    expect((error as Error).message).toBe(`journal ${path} line 2 is corrupt; move the file aside to start`);

    // Valid JSON the caller's parser refuses is just as corrupt.
    await writeFile(path, text.replace('{"n":1}', '{"n":"one"}'));
    await expect(JournalFile.open(dir, parse, { sync })).rejects.toMatchObject({
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
      message: 'the metering journal is closed',
    });
    // Releasing an unknown segment changes nothing; closing again neither.
    await journal.release(99, 1);
    await journal.close();
    expect((await openJournal()).recovered.records).toEqual(numbered(2));
  });

  it('opens an empty or missing directory, ignoring files that are not segments', async () => {
    await writeFile(join(dir, 'notes.txt'), 'not a segment\n');
    await writeFile(join(dir, 'journal-1.jsonl'), 'not a segment name\n');
    const nested = join(dir, 'a', 'b');
    const { journal, recovered } = await JournalFile.open(nested, parse, { sync });
    opened.push(journal);
    expect(recovered.records).toEqual([]);
    expect((await openJournal()).recovered.records).toEqual([]);
    expect(await journal.append({ n: 0 })).toBe(1);
    expect(await readdir(nested)).toEqual([segmentName(1)]);
  });

  it('rejects a record without a JSON form, never throwing, and writes nothing for it', async () => {
    const { journal } = await openJournal();
    await expect(journal.append(undefined)).rejects.toThrow(TypeError);
    await expect(journal.append({ n: 1n })).rejects.toThrow(TypeError);
    expect(await journal.append({ n: 0 })).toBe(1);
    expect(await linesOf(1)).toEqual([{ n: 0 }]);
  });

  it('rejects a write the device refuses (disk full), that append only', async () => {
    const { journal } = await openJournal();
    await rollOnNextAppend(journal);
    // Segment 2 is /dev/full: every write fails with ENOSPC and nothing reaches it.
    await symlink('/dev/full', join(dir, segmentName(2)));
    await expect(journal.append({ n: 0 })).rejects.toMatchObject({ code: 'ENOSPC' });
    // Not a failure of the journal: the next append meets the same device, not a refusal.
    await expect(journal.append({ n: 1 })).rejects.toMatchObject({ code: 'ENOSPC' });
    await journal.synced();
  });

  it('cuts the part of a record a file size limit let through, and goes on below the limit', async () => {
    // In a process limited to 64 blocks per file, lines of 1000 bytes: the one crossing the limit is cut.
    const lines = await journalInChild(dir, sync, { fileSizeBlocks: 64 });
    const refused = lines.findIndex((line) => 'refused' in line);
    expect(refused).toBeGreaterThan(0);
    expect(lines.slice(0, refused)).toEqual(Array.from({ length: refused }, (_, n) => ({ acked: n })));
    expect(lines.slice(refused)).toEqual([{ refused, code: 'EFBIG' }, { acked: -1 }]);
    const text = await readFile(join(dir, segmentName(1)), 'utf8');
    expect(text.length).toBe(refused * 1000 + '{"n":-1}\n'.length);
    const ns = (records: unknown[]) => records.map((r) => (r as { n: number }).n);
    const acked = [...Array.from({ length: refused }, (_, n) => n), -1];
    expect(
      ns(
        text
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line)),
      ),
    ).toEqual(acked);
    const { journal, recovered } = await JournalFile.open(dir, (line) => line, { sync });
    opened.push(journal);
    expect(ns(recovered.records)).toEqual(acked);
  });

  it('keeps every answered record of a process killed without closing', async () => {
    const lines = await journalInChild(dir, sync, { killAfterAcks: 20 });
    const acked = lines.filter((line) => 'acked' in line).length;
    expect(acked).toBeGreaterThanOrEqual(20);
    const { journal, recovered } = await JournalFile.open(dir, (line) => line, { sync });
    opened.push(journal);
    // Written but not yet answered may be there too: the records are the first ones, in order.
    const ns = recovered.records.map((r) => (r as { n: number }).n);
    expect(ns.length).toBeGreaterThanOrEqual(acked);
    expect(ns).toEqual(Array.from({ length: ns.length }, (_, n) => n));
  });
});

describe("JournalFile, sync 'os'", () => {
  async function openJournal() {
    const result = await JournalFile.open(dir, parse);
    opened.push(result.journal);
    return result;
  }

  it('writes the line within the append call, before its promise is awaited', async () => {
    const { journal } = await openJournal();
    const pending = journal.append({ n: 0 });
    expect(readFileSync(join(dir, segmentName(1)), 'utf8')).toBe('{"n":0}\n');
    expect(await pending).toBe(1);
    await journal.synced();
  });

  it('keeps append order across a segment roll: appends made during the roll wait for it', async () => {
    const { journal } = await openJournal();
    // This record leaves segment 1 four bytes short of full: the next record fills it and it rolls.
    const big: Record = { pad: 'x'.repeat(MAX_SEGMENT_BYTES - 4 - '{"pad":""}\n'.length) };
    expect(await journal.append(big)).toBe(1);
    const small = numbered(100);
    const answers = small.map((r) => journal.append(r));
    expect(await Promise.all(answers)).toEqual([1, ...small.slice(1).map(() => 2)]);
    expect(await journal.append({ n: 100 })).toBe(2);
    expect(await linesOf(1)).toEqual([big, { n: 0 }]);
    expect(await linesOf(2)).toEqual(numbered(100, 1));

    // A sealed segment goes once every record in it is released, not before.
    await journal.release(1, 1);
    expect(await segments()).toEqual([segmentName(1), segmentName(2)]);
    await journal.release(1, 1);
    expect(await segments()).toEqual([segmentName(2)]);
    await journal.synced();
  });

  it('close() waits for appends queued behind a roll and syncs them', async () => {
    const { journal } = await openJournal();
    await rollOnNextAppend(journal);
    const pending = numbered(3).map((r) => journal.append(r));
    await journal.close();
    expect(await Promise.all(pending)).toEqual([2, 2, 2]);
    await expect(journal.synced()).resolves.toBeUndefined();
    expect((await openJournal()).recovered.records).toEqual(numbered(3));
  });

  it('stops for good when a background fdatasync fails: appends and close report it', async () => {
    const { journal } = await openJournal();
    await rollOnNextAppend(journal);
    // Segment 2 is /dev/null: writes succeed, fdatasync fails (EINVAL), as on a failing disk.
    await symlink('/dev/null', join(dir, segmentName(2)));
    expect(await journal.append({ n: 0 })).toBe(2);
    const failed = {
      code: 'service_unavailable',
      retryable: true,
      message: expect.stringMatching(/^the metering journal could not be synced to disk/),
      cause: expect.objectContaining({ code: 'EINVAL' }),
    };
    await expect(journal.synced()).rejects.toMatchObject(failed);
    await expect(journal.append({ n: 1 })).rejects.toMatchObject(failed);
    await expect(journal.append({ n: 2 })).rejects.toMatchObject(failed);
    await expect(journal.close()).rejects.toMatchObject(failed);
  });
});

describe('JournalFile.open', () => {
  it('refuses an unknown sync mode before touching the directory', async () => {
    const nested = join(dir, 'journal');
    await expect(JournalFile.open(nested, parse, { sync: 'fast' as JournalSync })).rejects.toMatchObject({
      code: 'invalid_request',
      message: "journal sync must be 'os' or 'disk', got fast",
    });
    expect(await readdir(dir)).toEqual([]);
  });
});

type ChildLine = { acked: number } | { refused: number; code: string } | { done: true };

/**
 * A journal in another process appending records of 1000 bytes one after the other, printing each answer.
 * On a refusal it appends one small record, then closes; after 2,000 records it waits to be killed.
 */
const CHILD = `
const [journalUrl, dir, sync] = process.argv.slice(1);
const { JournalFile } = await import(journalUrl);
const { journal } = await JournalFile.open(dir, (line) => line, { sync });
const say = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
const record = (n) => ({ n, pad: 'x'.repeat(1000 - JSON.stringify({ n, pad: '' }).length - 1) });
for (let n = 0; n < 2000; n++) {
  try {
    await journal.append(record(n));
    say({ acked: n });
  } catch (error) {
    say({ refused: n, code: error.code });
    await journal.append({ n: -1 });
    say({ acked: -1 });
    await journal.close();
    process.exit(0);
  }
}
say({ done: true });
setInterval(() => {}, 60_000);
`;

/** Runs CHILD on `dir` under a file size limit (`ulimit -f`), or kills it (SIGKILL) after some answers. */
async function journalInChild(
  dir: string,
  sync: JournalSync,
  how: { fileSizeBlocks: number } | { killAfterAcks: number },
): Promise<ChildLine[]> {
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', CHILD];
  const args = [...node, new URL('./journal-file.ts', import.meta.url).href, dir, sync];
  const env = { ...process.env, TSX_DISABLE_CACHE: '1' };
  const child =
    'fileSizeBlocks' in how
      ? // SIGXFSZ ignored, so a write past the limit fails with EFBIG instead of killing the process.
        spawn('sh', ['-c', `trap '' XFSZ; ulimit -f ${how.fileSizeBlocks}; exec "$0" "$@"`, ...args], { env })
      : spawn(args[0] ?? '', args.slice(1), { env });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const lines: ChildLine[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    lines.push(JSON.parse(line) as ChildLine);
    const acked = lines.filter((l) => 'acked' in l).length;
    if ('killAfterAcks' in how && acked >= how.killAfterAcks) child.kill('SIGKILL');
  }
  await exited;
  if (lines.length === 0) throw new Error(`the journal process printed nothing: ${stderr.join('')}`);
  return lines;
}
