// A soak under faults, behind a flag (`npm run test:soak`; NEURINO_SOAK_SECONDS lengthens it,
// NEURINO_SOAK_FAULTS narrows the faults, NEURINO_SOAK_KEEP=1 keeps the logs): the devnet serves
// concurrent clients (chat answers whole and streamed, walk-aways, tight deadlines, completions, some
// echoing their prompt scored, embeddings, bad input) while miners are killed or frozen, the router
// killed or restarted, the chain's RPC frozen and (on PostgreSQL) the router's store connections ended,
// at random, and batches settle as they go. Then: every answered job has exactly one receipt, nothing
// refused before any output is charged, no job is left open, no process died of a fault it should
// survive, every receipt settled once, and the chain's earnings and debits equal the sums of the stored
// receipts.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerDatabaseDir } from '../../src/application/router-process.ts';
import type { Devnet } from '../../src/cli/devnet/network.ts';
import { CreditLedger } from '../../src/orchestration/metering/credit-ledger.ts';
import { openStore } from '../../src/orchestration/store/open-store.ts';
import { JOB_ID_HEADER } from '../../src/protocol/jobs-api.ts';
import { creditsOf, expectChainMatchesReceipts } from '../e2e/settlement-check.ts';
import { startTestDevnet } from '../e2e/test-devnet.ts';
import { type StoreTarget, storeBackends } from '../support/postgres.ts';

const SOAK = process.env.NEURINO_SOAK === '1';
const SECONDS = Number(process.env.NEURINO_SOAK_SECONDS ?? 60);
const CLIENTS = 6;
const MODEL = 'neurino-tiny';

/** How each request ended, as its client saw it. */
type Ending =
  | 'answered' // 200 with the whole answer (a stream to its [DONE])
  | 'walked-away' // the client aborted a stream after output (charged for what was made)
  | 'refused' // an error status before any output: must cost nothing
  | 'background' // a background response accepted (queued): its end is read from the store afterwards
  | 'unknown'; // the connection broke (a router killed mid-request): either way is right

interface Outcome {
  ending: Ending;
  status: number;
  /** The answer's id (`chatcmpl-…`), its job's public id, when the answer began. */
  publicId: string | undefined;
  /** A refusal's error code, for the summary. */
  code?: string;
}

/** The id of an answer, whole or streamed: the first `"id"` it carries. */
const idIn = (text: string) => /"id":"((?:chatcmpl|cmpl)-[A-Za-z0-9]+|resp_[A-Za-z0-9]+)"/.exec(text)?.[1];

/** Ends every session on `databaseUrl`'s database but the caller's, as a restarting server would. */
async function dropConnections(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
  } finally {
    await client.end();
  }
}

const FAULTS = [
  'kill-miner',
  'freeze-miner',
  'kill-router',
  'restart-router',
  'drop-store-connections',
  'freeze-chain',
  // Frozen past the router's heartbeat limit (3 × 5 s): its session is dropped and its jobs move on; its
  // late results, sent when it wakes, must not be charged again.
  'long-freeze-miner',
] as const;
type Fault = (typeof FAULTS)[number];

/** The faults to draw from (NEURINO_SOAK_FAULTS=a,b narrows them); dropped connections need PostgreSQL. */
function faultsFor(target: StoreTarget): Fault[] {
  const wanted = process.env.NEURINO_SOAK_FAULTS?.split(',');
  const unknown = wanted?.filter((name) => !(FAULTS as readonly string[]).includes(name)) ?? [];
  if (unknown.length > 0)
    throw new Error(`unknown faults ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  const chosen = FAULTS.filter((fault) => wanted === undefined || wanted.includes(fault));
  // PostgreSQL only: the server drops the router's connections, as in a restart or a failover.
  const possible = chosen.filter((fault) => fault !== 'drop-store-connections' || target.databaseUrl);
  if (possible.length === 0) {
    throw new Error(
      `no fault of NEURINO_SOAK_FAULTS=${wanted} applies to PGlite (drop-store-connections needs PostgreSQL; run with -t postgres)`,
    );
  }
  return possible;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

describe.runIf(SOAK).each(storeBackends())('soak under faults on $kind', (backend) => {
  let dataDir: string;
  let target: StoreTarget;
  let devnet: Devnet;
  let creditsBefore: bigint;
  const outcomes: Outcome[] = [];
  const faults: string[] = [];
  /** Processes that died of a fault they should have survived. */
  const crashes: string[] = [];

  beforeAll(async () => {
    // Batches settle while the faults happen, not only at the end.
    ({ dataDir, target, devnet } = await startTestDevnet(backend, 'soak', [
      '--batch-size',
      '25',
      '--batch-delay-ms',
      '2000',
    ]));
    creditsBefore = await creditsOf(devnet, devnet.developer);
  }, 180_000);

  afterAll(async () => {
    await devnet?.stop();
    await target?.dispose();
    // NEURINO_SOAK_KEEP=1 keeps the data dir, logs included, to read what happened.
    if (process.env.NEURINO_SOAK_KEEP === '1') console.log(`soak data and logs kept in ${dataDir}`);
    else await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  /** Records the router or a miner found dead after `fault`, which none of them should die of. */
  function noteDeaths(fault: string): void {
    const parts = [devnet.router, ...devnet.miners.values()];
    for (const part of parts) {
      if (part !== undefined && (part.process.exitCode !== null || part.process.signalCode !== null))
        crashes.push(`${part.name} died after ${fault} (see ${part.logFile})`);
    }
  }

  /** One request of a random kind, with how it ended. */
  async function request(): Promise<Outcome> {
    const kind = pick([
      'whole',
      'whole',
      'stream',
      'walk-away',
      'deadline',
      'bad',
      'completion',
      'embedding',
      'background',
    ] as const);
    const path =
      kind === 'completion'
        ? 'completions'
        : kind === 'embedding'
          ? 'embeddings'
          : kind === 'background'
            ? 'responses'
            : 'chat/completions';
    const text = `soak ${Math.random()}`;
    const body: Record<string, unknown> =
      kind === 'embedding'
        ? { model: MODEL, input: [text, 'and another'] }
        : kind === 'background'
          ? {
              model: MODEL,
              input: text,
              max_output_tokens: 4 + Math.floor(Math.random() * 24),
              background: true,
            }
          : {
              model: MODEL,
              ...(kind === 'completion' ? { prompt: text } : { messages: [{ role: 'user', content: text }] }),
              max_tokens: kind === 'walk-away' ? 400 : 4 + Math.floor(Math.random() * 24),
              stream: kind === 'stream' || kind === 'walk-away',
            };
    if (kind === 'bad') body.temperature = 7;
    // Half the completions score their prompt (echo), some the prompt alone (an evaluation's request).
    if (kind === 'completion' && Math.random() < 0.5) {
      Object.assign(body, { echo: true, logprobs: 1, stream: Math.random() < 0.3 });
      if (Math.random() < 0.3) body.max_tokens = 0;
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${devnet.apiKey}`,
      'content-type': 'application/json',
      'x-neurino-max-retries': '2',
    };
    if (kind === 'deadline') headers['x-neurino-timeout-ms'] = String(10 + Math.floor(Math.random() * 200));
    const controller = new AbortController();
    let response: Response;
    try {
      response = await fetch(`${devnet.gatewayUrl}/v1/${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
    } catch {
      return { ending: 'unknown', status: 0, publicId: undefined };
    }
    const status = response.status;
    try {
      if (status !== 200) {
        const code = /"code":"([a-z_]+)"/.exec(await response.text())?.[1] ?? 'no code';
        return { ending: 'refused', status, publicId: undefined, code };
      }
      if (kind === 'background') {
        return { ending: 'background', status, publicId: idIn(await response.text()) };
      }
      if (kind !== 'walk-away') {
        const answer = await response.text();
        // A stream that broke off mid-way (its node or router died) ends without [DONE] or with an error.
        const whole =
          !body.stream || (answer.trimEnd().endsWith('data: [DONE]') && !answer.includes('"error"'));
        // Embeddings have no id in the body: their job is named in a header.
        const publicId = idIn(answer) ?? response.headers.get(JOB_ID_HEADER) ?? undefined;
        return { ending: whole ? 'answered' : 'unknown', status, publicId };
      }
      const reader = response.body?.getReader();
      const decoder = new TextDecoder();
      let seen = '';
      let chunks = 0;
      while (reader !== undefined && chunks < 3) {
        const { done, value } = await reader.read();
        if (done) return { ending: 'unknown', status, publicId: idIn(seen) };
        seen += decoder.decode(value, { stream: true });
        chunks += 1;
      }
      controller.abort();
      return { ending: 'walked-away', status, publicId: idIn(seen) };
    } catch {
      return { ending: 'unknown', status, publicId: undefined };
    }
  }

  async function client(until: number): Promise<void> {
    while (Date.now() < until) {
      const outcome = await request();
      outcomes.push(outcome);
      // Down or no node yet (a restart): back off as a client would, rather than spin on refusals.
      if (outcome.status === 0 || outcome.status === 503) await sleep(100);
    }
  }

  /** Every few seconds, one fault: a miner killed or frozen, or the router killed or restarted. */
  async function chaos(until: number): Promise<void> {
    while (Date.now() < until - 8_000) {
      await sleep(3_000 + Math.random() * 3_000);
      const fault = pick(faultsFor(target));
      faults.push(fault);
      if (fault === 'freeze-chain') {
        // The chain's RPC stops answering for a while (a node hiccup): settlement and credit reads wait.
        const chain = devnet.chain.anvil.process;
        chain.kill('SIGSTOP');
        await sleep(4_000);
        chain.kill('SIGCONT');
        await sleep(1_000);
        noteDeaths(fault);
        continue;
      }
      if (fault === 'drop-store-connections') {
        await dropConnections(target.databaseUrl as string);
        // The router rides it out (its pool reconnects, its metering retries): it must not die of it.
        await sleep(2_000);
        noteDeaths(fault);
        continue;
      }
      if (fault === 'kill-miner' || fault === 'freeze-miner' || fault === 'long-freeze-miner') {
        const index = pick([0, 1]);
        const miner = devnet.miners.get(index);
        if (miner === undefined) continue;
        if (fault === 'kill-miner') {
          miner.process.kill('SIGKILL');
          await miner.exited.catch(() => undefined);
          await devnet.startMiner(index);
        } else {
          miner.process.kill('SIGSTOP');
          await sleep(fault === 'long-freeze-miner' ? 17_000 : 1_500);
          miner.process.kill('SIGCONT');
          await sleep(500);
          noteDeaths(fault);
        }
      } else {
        const router = devnet.router;
        if (fault === 'kill-router') {
          router?.process.kill('SIGKILL');
          await router?.exited.catch(() => undefined);
        } else {
          await router?.stop();
        }
        await devnet.startRouter();
      }
      await devnet.waitForNodes(2, 60_000);
    }
  }

  it(
    'keeps every receipt once through killed and frozen processes, and settles exactly what it charged',
    async () => {
      const until = Date.now() + SECONDS * 1_000;
      await Promise.all([chaos(until), ...Array.from({ length: CLIENTS }, () => client(until))]);
      await devnet.waitForNodes(2, 60_000);
      // The router settles what it charged as it stops.
      await devnet.router?.stop();

      const count = (ending: Ending) => outcomes.filter((o) => o.ending === ending).length;
      const endings = ['answered', 'walked-away', 'refused', 'background', 'unknown'] as const;
      const statuses = new Map<string, number>();
      for (const { ending, status, code } of outcomes) {
        const key = `${status} ${code}`;
        if (ending === 'refused') statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
      const refusals = [...statuses].map(([status, n]) => `${status}: ${n}`).join(', ');
      console.log(
        `soak on ${backend.kind}: ${outcomes.length} requests (${endings.map((e) => `${e} ${count(e)}`).join(', ')}; ` +
          `refused ${refusals}); faults: ${faults.join(', ')}`,
      );
      expect(count('answered')).toBeGreaterThan(50);
      expect(faults.length).toBeGreaterThan(0);
      expect(crashes).toEqual([]);

      const store = await openStore(
        target.databaseUrl
          ? { databaseUrl: target.databaseUrl }
          : { dataDir: routerDatabaseDir(join(dataDir, 'router')) },
      );
      try {
        const ledger = new CreditLedger({ store, credits: { balanceOf: async () => 0n, maxAgeMs: 0 } });
        const receipts = await ledger.receiptsFor({ limit: 100_000 });
        const byJob = new Map<string, number>();
        for (const { receipt } of receipts) byJob.set(receipt.jobId, (byJob.get(receipt.jobId) ?? 0) + 1);
        expect([...byJob.values()].every((count) => count === 1)).toBe(true);
        expect(receipts.every((r) => r.settledAt !== undefined && r.batch !== undefined)).toBe(true);

        // Every answer that reached its client was charged, kept through every crash.
        const chargedIds = new Set(
          (
            await store.query<{ public_id: string }>(
              'select j.public_id from receipts r join jobs j on j.job_id = r.job_id',
            )
          ).map((row) => row.public_id),
        );
        // No job left open: a restarted router ends what its killed run left running.
        const [open] = await store.query<{ n: unknown }>(
          "select count(*) as n from jobs where status in ('queued', 'running')",
        );
        expect(Number(open?.n)).toBe(0);
        const answered = outcomes.filter((o) => o.ending === 'answered');
        expect(answered.every((o) => o.publicId !== undefined)).toBe(true);
        const lost = answered.filter((o) => !chargedIds.has(o.publicId as string));
        expect(lost, 'answered requests without a receipt').toEqual([]);
        // Nothing else was charged: a refusal before any output (no node, a deadline, bad input) is free,
        // so receipts are at most the answers, the walk-aways, the background responses and the requests
        // whose end nobody saw.
        expect(receipts.length).toBeLessThanOrEqual(
          answered.length + count('walked-away') + count('background') + count('unknown'),
        );

        // Each background response accepted is kept, and its end matches its charge: answered ones were
        // charged, failed ones were not; one its router died running is unfinished with a deadline, after
        // which a reader ends it (from the jobs log when its job had ended).
        const backgrounds = outcomes.filter((o) => o.ending === 'background');
        expect(backgrounds.every((o) => o.publicId !== undefined)).toBe(true);
        const kept = await store.query<{ id: string; status: string; deadline_at: unknown }>(
          `select id, response->>'status' as status, deadline_at from responses where id = any($1::text[])`,
          [`{${backgrounds.map((o) => o.publicId).join(',')}}`],
        );
        expect(kept.length).toBe(backgrounds.length);
        for (const row of kept) {
          if (row.status === 'completed' || row.status === 'incomplete')
            expect(chargedIds.has(row.id), `${row.id} answered but not charged`).toBe(true);
          else if (row.status === 'failed')
            expect(chargedIds.has(row.id), `${row.id} failed but charged`).toBe(false);
          else expect(row.deadline_at, `${row.id} left ${row.status} without a deadline`).not.toBeNull();
        }
        const ends = new Map<string, number>();
        for (const row of kept) ends.set(row.status, (ends.get(row.status) ?? 0) + 1);
        console.log(
          `background responses on ${backend.kind}: ${[...ends].map(([k, n]) => `${k} ${n}`).join(', ')}`,
        );

        await expectChainMatchesReceipts(devnet, receipts, creditsBefore);
      } finally {
        await store.close();
      }
    },
    (SECONDS + 300) * 1_000,
  );
});
