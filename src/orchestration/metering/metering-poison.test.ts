// An entry the store refuses for its data (here: a public job id already taken) must not hold back the
// others, nor stop a journaled router from starting: it is kept aside in rejected.jsonl and the rest is
// stored. A store refusing for other reasons is not that: see metering-routers.test.ts.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomBytes32 } from '../../protocol/ids.ts';
import { REJECTED_FILE } from './journal-file.ts';
import { endedEntry } from './metering-entries.ts';
import { chargeJob, newPayer, reserveJob, useMeteringChain } from './testing/metering-fixture.ts';
import { meteringCombos, meteringSuite } from './testing/metering-suite.ts';

const env = useMeteringChain();

describe.each(meteringCombos())('Metering refusing one entry on $kind with $mode', (combo) => {
  const s = meteringSuite(combo, env.credits);

  it('keeps the refused entry aside and stores the others', async () => {
    const payer = newPayer();
    await env.chain.fund(payer, 10_000n);
    const holder = `router-poison-${combo.journal}`;
    const m = (await s.open(holder)).metering;
    const first = await reserveJob(m, env.ctx, payer, 100n);
    await chargeJob(m, env.ctx, first, 40n);
    await m.flush();
    // A second job under the first one's public id: its row can never be inserted.
    const clash = { jobId: randomBytes32(), publicId: first.publicId, payer };
    await m.reserve({
      jobId: clash.jobId,
      payer,
      amount: 100n,
      job: { publicId: first.publicId, apiKeyId: 'key_1', podId: env.ctx.podId, kind: 'chat' },
    });
    const fine = await reserveJob(m, env.ctx, payer, 100n);
    const charges = await Promise.allSettled([
      chargeJob(m, env.ctx, clash, 30n),
      chargeJob(m, env.ctx, fine, 20n),
    ]);
    await m.flush();
    expect(charges[1]?.status).toBe('fulfilled');
    const stored = await s.ledger.receiptsFor({ payer });
    expect(stored.map((r) => r.receipt.jobId).sort()).toEqual([first.jobId, fine.jobId].sort());
    if (combo.journal) {
      // Durable in the journal, so answered; the store refused it, so it is kept for an operator.
      expect(charges[0]?.status).toBe('fulfilled');
      const rejected = await readFile(join(s.dir, holder, REJECTED_FILE), 'utf8');
      expect(rejected).toContain(clash.jobId);
      expect(rejected).toMatch(/duplicate key|unique/);
      expect(m.stats()).toEqual({ unstored: 0, storeRetrying: false, rejected: 1 });
    } else {
      // Nothing durable: the charge fails (the job stays held for release, as the gateway does).
      expect(charges[0]).toMatchObject({ status: 'rejected' });
      await m.release(clash.jobId, { status: 'failed', errorCode: 'internal_error' });
    }
    // Nothing stays pending or held for the refused entry.
    expect(m.leases.lease(payer)).toMatchObject({ held: 0n, pending: 0n });
  });

  it.runIf(combo.journal)('starts although the journal holds an entry the store refuses', async () => {
    const payer = newPayer();
    await env.chain.fund(payer, 10_000n);
    const holder = `router-poison-start-${combo.journal}`;
    const m = (await s.open(holder)).metering;
    const first = await reserveJob(m, env.ctx, payer, 100n);
    await chargeJob(m, env.ctx, first, 40n);
    await m.flush();
    // What a crashed run could have left: one entry clashing with a stored job, one fine.
    const job = {
      payer,
      podId: env.ctx.podId,
      kind: 'chat' as const,
      apiKeyId: 'key_1',
      createdAt: Date.now(),
    };
    const clash = endedEntry(
      { ...job, jobId: randomBytes32(), publicId: first.publicId },
      { status: 'failed' },
    );
    const fine = endedEntry(
      { ...job, jobId: randomBytes32(), publicId: 'job_0123456789abcdefghijKLMN' },
      {
        status: 'failed',
      },
    );
    const dir = join(s.dir, `${holder}-next`);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'journal-000000000001.jsonl'),
      `${JSON.stringify(clash)}\n${JSON.stringify(fine)}\n`,
    );
    const next = await s.open(`${holder}-next`, { journalDir: dir });
    expect(next.recovered).toBe(2);
    expect(await s.jobs.get('job_0123456789abcdefghijKLMN')).toMatchObject({ status: 'failed' });
    expect(await readFile(join(dir, REJECTED_FILE), 'utf8')).toContain(clash.job.job_id);
    expect(next.metering.stats().rejected).toBe(1);
  });
});
