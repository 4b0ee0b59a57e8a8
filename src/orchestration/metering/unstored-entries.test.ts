// The journal's backlog by job and by payer: a later step of a job replaces the earlier, an earlier one
// stored late leaves the later in place, and a payer's listing holds that payer's jobs only.
import { describe, expect, it } from 'vitest';
import type { MeteringEntry } from './metering-entries.ts';
import { UnstoredEntries } from './unstored-entries.ts';

const entry = (publicId: string, payer: string, step: string) =>
  ({ job: { public_id: publicId, payer }, step }) as unknown as MeteringEntry;

describe('UnstoredEntries', () => {
  it("keeps each job's latest step, lists a payer's own, and forgets what reached the store", () => {
    const backlog = new UnstoredEntries();
    const opened = entry('job_1', '0xA', 'opened');
    const ended = entry('job_1', '0xA', 'ended');
    const other = entry('job_2', '0xB', 'ended');
    backlog.add(opened);
    backlog.add(other);
    backlog.add(ended);
    expect(backlog.size).toBe(2);
    expect(backlog.get('job_1')).toBe(ended);
    expect(backlog.ofPayer('0xA')).toEqual([ended]);
    // The earlier step reached the store after the later was journaled: the later stays.
    backlog.stored(opened);
    expect(backlog.get('job_1')).toBe(ended);
    expect(backlog.ofPayer('0xA')).toEqual([ended]);
    backlog.stored(ended);
    expect(backlog.get('job_1')).toBeUndefined();
    expect(backlog.ofPayer('0xA')).toEqual([]);
    expect(backlog.ofPayer('0xB')).toEqual([other]);
    expect(backlog.size).toBe(1);
  });
});
