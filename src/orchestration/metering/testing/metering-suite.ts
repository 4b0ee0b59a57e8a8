// Tests only: one metering suite per store backend and mode (with a journal, or without one), set up and
// torn down by vitest hooks. Call `meteringSuite` inside a describe block.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type StoreBackend, type StoreTarget, storeBackends } from '../../../../test/support/postgres.ts';
import type { Store } from '../../store/store.ts';
import { CreditLedger } from '../credit-ledger.ts';
import type { CreditsSource } from '../credits-source.ts';
import { JobStore } from '../job-store.ts';
import type { Metering } from '../metering.ts';
import { type OpenedMetering, type OpenMeteringOptions, openMetering } from '../open-metering.ts';
import { silentLogger } from './metering-fixture.ts';

export interface MeteringCombo {
  backend: StoreBackend;
  kind: StoreBackend['kind'];
  journal: boolean;
  mode: string;
}

/** Every store backend, each with a journal and without: for `describe.each`. */
export function meteringCombos(): MeteringCombo[] {
  return storeBackends().flatMap((backend) =>
    [true, false].map((journal) => ({
      backend,
      kind: backend.kind,
      journal,
      mode: journal ? 'a journal' : 'no journal',
    })),
  );
}

export interface MeteringSuite {
  readonly target: StoreTarget;
  readonly store: Store;
  readonly ledger: CreditLedger;
  readonly jobs: JobStore;
  /** The suite's temporary directory: router `holder`'s journal is `<dir>/<holder>`. */
  readonly dir: string;
  /** Router `router-a` on the suite's store. */
  readonly metering: Metering;
  /** Metering of router `holder` on `db` (the suite's store by default), in the suite's mode; closed after. */
  open(holder: string, options?: Partial<OpenMeteringOptions>, db?: Store): Promise<OpenedMetering>;
  /** Another connection to the suite's database (PostgreSQL), as a second router process has; closed after. */
  secondStore(): Promise<Store>;
}

export function meteringSuite(combo: MeteringCombo, credits: () => CreditsSource): MeteringSuite {
  let target: StoreTarget;
  let store: Store;
  let dir: string;
  let ledger: CreditLedger;
  let jobs: JobStore;
  let metering: Metering;
  const opened: OpenedMetering[] = [];
  const stores: Store[] = [];

  const open = async (holder: string, options: Partial<OpenMeteringOptions> = {}, db?: Store) => {
    const o = await openMetering({
      store: db ?? store,
      credits: credits(),
      holder,
      logger: silentLogger,
      journalDir: combo.journal ? join(dir, holder) : undefined,
      ...options,
    });
    opened.push(o);
    return o;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'neurino-metering-'));
    target = await combo.backend.fresh();
    store = await target.open();
    ledger = new CreditLedger({ store, credits: credits() });
    jobs = new JobStore(store);
    ({ metering } = await open('router-a'));
  });

  afterAll(async () => {
    for (const o of opened) await o.close().catch(() => {});
    for (const s of stores) await s.close();
    await store?.close();
    await target?.dispose();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  return {
    get target() {
      return target;
    },
    get store() {
      return store;
    },
    get ledger() {
      return ledger;
    },
    get jobs() {
      return jobs;
    },
    get dir() {
      return dir;
    },
    get metering() {
      return metering;
    },
    open,
    async secondStore() {
      if (combo.kind === 'pglite') return store;
      const second = await target.open();
      stores.push(second);
      return second;
    },
  };
}
