// A real crash: a router process (testing/crashing-router.ts) meters jobs with a journal and is killed
// with SIGKILL; the next start on the same journal and store must store every charge it answered exactly
// once, drop the dead run's leases, and store nothing twice when the same journal is replayed again.
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getAddress, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { type StoreTarget, storeBackends } from '../../../test/support/postgres.ts';
import { isReceiptAttested } from '../../protocol/receipt-attestation.ts';
import { openStore } from '../store/open-store.ts';
import type { Store } from '../store/store.ts';
import { CreditLedger } from './credit-ledger.ts';
import { JobStore } from './job-store.ts';
import { openMetering } from './open-metering.ts';
import type { AnsweredCharge, CrashingRouterConfig } from './testing/crashing-router.ts';
import { leaseRows, routerAttester, settableCredits, silentLogger } from './testing/metering-fixture.ts';

const CHILD = fileURLToPath(new URL('./testing/crashing-router.ts', import.meta.url));
const STORED = 4;
const JOURNALED = 5;

/** Runs the crashing router until it says it is ready, kills it, and returns the charges it answered. */
async function runAndKill(config: CrashingRouterConfig): Promise<AnsweredCharge[]> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const answered: AnsweredCharge[] = [];
  let ready = false;
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    const message = JSON.parse(line) as AnsweredCharge | { ready: true };
    if ('ready' in message) {
      ready = true;
      child.kill('SIGKILL');
      break;
    }
    answered.push(message);
  }
  const end = await exited;
  if (!ready) throw new Error(`the crashing router ended early (${String(end)}): ${stderr}`);
  expect(end).toBe('SIGKILL');
  return answered;
}

describe.each(storeBackends())('a router killed mid-run, on $kind', (backend) => {
  let dir: string;
  let target: StoreTarget | undefined;
  const stores: Store[] = [];

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await target?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores every answered charge once at the next start and drops its leases; a replay stores nothing twice', async () => {
    dir = await mkdtemp(join(tmpdir(), 'neurino-crash-'));
    const journalDir = join(dir, 'journal');
    const dataDir = join(dir, 'pglite');
    target = backend.kind === 'postgres' ? await backend.fresh() : undefined;
    const payer = privateKeyToAccount(generatePrivateKey()).address;
    const holder = 'router-crashed';
    const domain = {
      chainId: 31337,
      verifyingContract: getAddress(keccak256(toHex('settlement')).slice(0, 42)),
    };
    const { key: routerKey, attester } = routerAttester(domain);
    const answered = await runAndKill({
      ...(target === undefined ? { dataDir } : { databaseUrl: target.databaseUrl }),
      journalDir,
      holder,
      payer,
      balance: '1000000',
      podId: keccak256(toHex('crash pod')),
      domain,
      stored: STORED,
      journaled: JOURNALED,
      running: 2,
    });
    expect(answered).toHaveLength(STORED + JOURNALED);

    const store = target === undefined ? await openStore({ dataDir }) : await target.open();
    stores.push(store);
    const ledger = new CreditLedger({ store, credits: settableCredits() });
    const jobs = new JobStore(store);
    // What the crash left: the first charges in the store (and still in the journal), the rest only in
    // the journal, and the dead run's lease holding its running jobs.
    expect(await ledger.receiptsFor({ payer })).toHaveLength(STORED);
    expect((await leaseRows(store, payer)).get(holder)).toBeGreaterThanOrEqual(2_000n);
    await store.query('alter table jobs_offline rename to jobs');
    await store.query(
      'insert into credit_leases (holder, payer, amount, created_at, expires_at) values ($1, $2, 7, $3, $4)',
      ['router-alive', payer, Date.now(), Date.now() + 60_000],
    );
    const saved = join(dir, 'journal-copy');
    await cp(journalDir, saved, { recursive: true });

    const credits = settableCredits();
    credits.set(payer, 1_000_000n);
    const restart = () =>
      openMetering({ store, credits, holder, journalDir, logger: silentLogger, attester });
    const first = await restart();
    expect(first.recovered).toBe(STORED + JOURNALED);
    await first.close();
    // The receipts stored from the journal are attested as they go in (the crashed run had no key: what
    // it had stored itself stays unattested).
    const attested = (await ledger.receiptsFor({ payer })).filter((r) => r.attestation !== undefined);
    expect(attested).toHaveLength(JOURNALED);
    for (const r of attested) {
      const evidence = await ledger.attestedReceipt(r.receipt.jobId);
      expect(evidence?.receiptHash).toBe(r.receiptHash);
      expect(evidence && isReceiptAttested(domain, evidence, routerKey.address)).toBe(true);
    }

    const expectStoredOnce = async () => {
      const receipts = await ledger.receiptsFor({ payer });
      expect(receipts.map((r) => [r.receipt.jobId, r.charged.toString()]).sort()).toEqual(
        answered.map((a) => [a.jobId, a.charged]).sort(),
      );
      for (const a of answered) {
        expect(await jobs.get(a.publicId)).toMatchObject({ status: 'succeeded', attempts: 1 });
        expect(await jobs.attempts(a.jobId)).toHaveLength(1);
      }
      expect(Object.fromEntries(await leaseRows(store, payer))).toEqual({ 'router-alive': 7n });
    };
    await expectStoredOnce();
    // The recovered segments are gone; the new run's own segment is all that is left.
    expect(await readdir(journalDir)).toHaveLength(1);

    // The same journal once more (as if the start died before discarding it): nothing is stored twice.
    await cp(saved, journalDir, { recursive: true });
    const second = await restart();
    expect(second.recovered).toBe(STORED + JOURNALED);
    await second.close();
    await expectStoredOnce();
  });
});
