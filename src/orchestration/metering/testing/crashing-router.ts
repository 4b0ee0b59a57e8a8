// Tests only: a router's metering in its own process, for a test to kill (SIGKILL) at a known point.
// It charges `stored` jobs and waits until the store has them (they stay in the journal's open segment
// too), then takes the jobs table away so the next `journaled` charges are durable in the journal only,
// then reserves `running` jobs it never finishes. It prints one JSON line per charge answered, then
// {"ready":true}, and waits to be killed. Run: node --import tsx crashing-router.ts '<CrashingRouterConfig>'.
import { z } from 'zod';
import { devAccount } from '../../../chain/dev-accounts.ts';
import { openStore } from '../../store/open-store.ts';
import { openMetering } from '../open-metering.ts';
import { chargeJob, type JobContext, reserveJob, settableCredits, silentLogger } from './metering-fixture.ts';

const Hex = z
  .string()
  .regex(/^0x[0-9a-fA-F]*$/)
  .transform((s) => s as `0x${string}`);

export const CrashingRouterConfigSchema = z.object({
  /** A PostgreSQL database, or else a PGlite directory this process alone holds. */
  databaseUrl: z.string().optional(),
  dataDir: z.string().optional(),
  journalDir: z.string(),
  holder: z.string(),
  payer: Hex,
  balance: z.string(),
  podId: Hex,
  domain: z.object({ chainId: z.int(), verifyingContract: Hex }),
  stored: z.int().min(0),
  journaled: z.int().min(0),
  running: z.int().min(0),
});

export type CrashingRouterConfig = z.input<typeof CrashingRouterConfigSchema>;

/** One line per charge answered before the kill. */
export interface AnsweredCharge {
  jobId: `0x${string}`;
  publicId: string;
  charged: string;
}

async function main(config: z.output<typeof CrashingRouterConfigSchema>): Promise<void> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const credits = settableCredits();
  credits.set(config.payer, BigInt(config.balance));
  const { metering } = await openMetering({
    store,
    credits,
    holder: config.holder,
    journalDir: config.journalDir,
    logger: silentLogger,
    maintenanceMs: 3_600_000,
  });
  const ctx: JobContext = { domain: config.domain, node: devAccount(10), podId: config.podId };
  const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);
  const run = async (count: number, firstPrice: bigint) => {
    for (let i = 0; i < count; i++) {
      const job = await reserveJob(metering, ctx, config.payer, 1_000n);
      const { charged } = await chargeJob(metering, ctx, job, firstPrice + BigInt(i));
      say({ jobId: job.jobId, publicId: job.publicId, charged: charged.toString() } satisfies AnsweredCharge);
    }
  };
  await run(config.stored, 100n);
  await metering.flush();
  await store.query('alter table jobs rename to jobs_offline');
  await run(config.journaled, 500n);
  for (let i = 0; i < config.running; i++) await reserveJob(metering, ctx, config.payer, 1_000n);
  say({ ready: true });
  // Alive until killed.
  setInterval(() => {}, 60_000);
}

await main(CrashingRouterConfigSchema.parse(JSON.parse(process.argv[2] ?? '{}')));
