// What the gateway → router → miner hop costs, side by side in one run, built from the real parts and
// placed as in a deployment: anvil with the protocol deployed, pods registered on-chain, a funded
// developer, staked miners; the router (PGlite in memory) in this process, each miner in its own
// `neurino miner` process dialling it over WebSocket, the trivial upstream in its own process, and the
// load generator in a worker thread (as wrk would be: not sharing the event loop it measures).
//  1. Latency: the same seeded chat request, over one kept-alive HTTP connection each, straight to a
//     llama.cpp pod runtime behind a bare Fastify handler in a process of its own (built like the miner's
//     pod; it also reports the runtime call's own duration) vs through the gateway to a llama.cpp miner
//     process, interleaved so machine noise hits both. A warm-up first (as a serving router is warm: its
//     code compiled by the JIT), then the timed pairs.
//  2. Throughput: a closed loop of concurrent requests through the whole path to a miner process hosting a
//     trivial pod (bench/trivial-miner.ts: answers at once) vs the same loop against a bare Fastify handler
//     answering the same JSON in this process. For reference, also through an `openai-upstream` miner that
//     relays to that handler run in a process of its own (a fifth busy process on the machine).
// Targets (DESIGN.md): ≤ 2 ms added at p50, ≤ 10 ms at p99, ≥ 50 % of the bare handler's requests/s.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Address } from 'viem';
import { startRouter } from '../src/application/router-process.ts';
import { writeAddressBook } from '../src/chain/address-book.ts';
import { startAnvil } from '../src/chain/anvil.ts';
import { chainFor, publicClientFor, walletClientFor } from '../src/chain/clients.ts';
import { deployProtocol } from '../src/chain/deploy.ts';
import { defaultDeployParams } from '../src/chain/deploy-params.ts';
import { DEV_ROLES, devAccount, devPrivateKey, devRoleAccount } from '../src/chain/dev-accounts.ts';
import { ensurePodRegistered } from '../src/chain/pod-registration.ts';
import { type DevnetChild, waitFor } from '../src/cli/devnet/child-process.ts';
import { ensureCredits, ensureMinerStaked } from '../src/cli/devnet/fund.ts';
import { describeFile, ggufPodSpec, upstreamPodSpec } from '../src/compute/miner/local-pods.ts';
import { ensureTinyModel, TINY_MODEL_NAME } from '../src/compute/model/tiny-model.ts';
import type { JournalSync } from '../src/orchestration/metering/journal-file.ts';
import { fastAccount } from '../src/protocol/fast-account.ts';
import { freePort } from '../test/support/free-port.ts';
import {
  spawnDirectPod,
  spawnMinerProcess,
  spawnTrivialMiner,
  spawnTrivialUpstream,
} from './bench-processes.ts';
import { type LatencyComparison, measureLatency } from './gateway-latency.ts';
import { printGatewayBench } from './gateway-print.ts';
import { LoadGenerator, type LoadRun, type LoadTarget } from './load-generator.ts';
import { addCpu, type CpuTimes, cpuSpent, machineCpuTimes } from './machine-cpu.ts';
import { type Percentiles, percentiles } from './percentiles.ts';
import { TRIVIAL_POD_MODEL, trivialPodSpec } from './trivial-miner.ts';
import { startTrivialUpstream, UPSTREAM_MODEL } from './trivial-upstream.ts';

export interface GatewayBenchOptions {
  /** Timed request pairs (direct, through the gateway) after the warm-up. */
  requests?: number;
  warmup?: number;
  /** Requests in flight at once in the throughput loops. */
  concurrency?: number;
  /** Length of one throughput run; each side runs `rounds` times, alternating. */
  runMs?: number;
  rounds?: number;
  /** Numbers in flight for the best-of sweep (one run per point and side); [] skips it. */
  sweep?: readonly number[];
}

/** A side's best rate over the sweep and the number in flight that gave it. */
export interface SweepBest {
  rps: number;
  concurrency: number;
}

export interface GatewayBenchResult {
  latency: LatencyComparison;
  throughput: {
    concurrency: number;
    secondsPerSide: number;
    /** A bare Fastify handler returning the trivial completion: the baseline. */
    bareRps: number;
    /** Gateway → router → miner process hosting the trivial pod. */
    wholePathRps: number;
    /** wholePathRps / bareRps. */
    ratio: number;
    /** For reference: gateway → router → miner → openai-upstream pod → the bare handler in its own process. */
    upstreamPathRps: number;
    /** Non-200 answers or network failures (0 unless something is broken). */
    errors: { bare: number; wholePath: number; upstreamPath: number };
    /**
     * Each request's time at the load generator under this closed loop: mostly queueing at full load,
     * so a stall (a request path waiting on the store, say) shows at p99. For information, not a target.
     */
    underLoad: { bare: Percentiles; wholePath: Percentiles; upstreamPath: Percentiles };
    /**
     * The whole machine's CPU over each side's runs (every process on it): µs of busy CPU per answered
     * request, and the share of the machine left idle. Where the bare side leaves the machine idle, its
     * load generator, not the CPU, is what bounds it.
     */
    machineCpu: Record<'bare' | 'wholePath' | 'upstreamPath', { usPerRequest: number; idleShare: number }>;
    /**
     * For information: each side at its best number in flight (one run of `runMs` per point), as a
     * deeper pipeline (more processes and hops) needs more requests in flight to keep the machine busy.
     * Undefined when the sweep is skipped.
     */
    best: { sweep: readonly number[]; bare: SweepBest; wholePath: SweepBest; ratio: number } | undefined;
  };
}

/** The llama.cpp pod's runtime options, the same for the miner's pod and the direct baseline. */
const TINY_POD = { slots: 2, threads: 1 } as const;

const throughputBody = (model: string) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });

function journalSyncFromEnv(): JournalSync {
  const mode = process.env.NEURINO_BENCH_JOURNAL_SYNC ?? 'os';
  if (mode !== 'os' && mode !== 'disk')
    throw new Error(`NEURINO_BENCH_JOURNAL_SYNC must be os or disk, got ${mode}`);
  return mode;
}

export async function benchGateway(options: GatewayBenchOptions = {}): Promise<GatewayBenchResult> {
  const requests = options.requests ?? 200;
  const warmup = options.warmup ?? 300;
  const concurrency = options.concurrency ?? 32;
  const runMs = options.runMs ?? 5_000;
  const rounds = options.rounds ?? 2;
  const logLevel = process.env.NEURINO_BENCH_LOG ?? 'silent';
  const logger = pino({ level: logLevel });
  // Everything started so far, stopped newest first, whatever happens.
  const cleanups: Array<() => Promise<unknown>> = [];
  let finished = false;
  try {
    const dir = await mkdtemp(join(tmpdir(), 'neurino-bench-gateway-'));
    // Kept when the bench fails: the child processes' logs are in it.
    cleanups.push(async () =>
      finished
        ? rm(dir, { recursive: true, force: true })
        : console.error(`gateway bench: logs in ${dir}/logs`),
    );
    const logDir = join(dir, 'logs');
    const upstream = await spawnTrivialUpstream(await freePort(), logDir);
    cleanups.push(() => upstream.stop());
    const bareHandler = await startTrivialUpstream(await freePort());
    cleanups.push(() => bareHandler.close());

    const deployer = devRoleAccount('deployer');
    const routerAccount = fastAccount(devPrivateKey(DEV_ROLES.router));
    const anvil = await startAnvil({ port: await freePort() });
    cleanups.push(() => anvil.stop());
    const publicClient = publicClientFor(chainFor(anvil.chainId, anvil.rpcUrl));
    const book = await deployProtocol(
      { publicClient, walletClient: walletClientFor(publicClient.chain, deployer) },
      defaultDeployParams({
        governance: deployer.address,
        router: routerAccount.address,
        treasury: deployer.address,
      }),
    );
    const addressesFile = join(dir, 'addresses.json');
    await writeAddressBook(addressesFile, book);

    const model = await ensureTinyModel(join(dir, 'models'));
    const tinySpec = ggufPodSpec({ name: TINY_MODEL_NAME, ...(await describeFile(model.path)) });
    const upstreamSpec = upstreamPodSpec({ name: UPSTREAM_MODEL, vramMiB: 1 });
    const trivialSpec = trivialPodSpec();
    for (const spec of [tinySpec, upstreamSpec, trivialSpec]) {
      await ensurePodRegistered({
        publicClient,
        walletClient: walletClientFor(publicClient.chain, devRoleAccount('podDeployer')),
        podRegistry: book.contracts.podRegistry,
        spec,
      });
    }
    const funding = { publicClient, book, treasury: deployer };
    const developer = devRoleAccount('developer').address;
    await ensureCredits(funding, developer);
    const minerIndexes = {
      tiny: DEV_ROLES.firstMiner,
      upstream: DEV_ROLES.firstMiner + 1,
      trivial: DEV_ROLES.firstMiner + 2,
    };
    for (const index of Object.values(minerIndexes)) await ensureMinerStaked(funding, devAccount(index));

    const router = await startRouter({
      port: 0,
      rpcUrl: anvil.rpcUrl,
      addressBook: book,
      routerAccount,
      pods: [tinySpec, upstreamSpec, trivialSpec],
      // Batches of the largest size and no time trigger: the latency run settles nothing; the throughput
      // runs settle a batch every 10,000 receipts, as a busy router does, and that work is measured too.
      batch: { maxReceipts: 10_000, maxDelayMs: 3_600_000 },
      logger,
      gateway: { frontend: devRoleAccount('frontend').address },
      // As deployed: a data directory for the metering journal and (by default) PGlite's database; a
      // PostgreSQL server (an empty database) moves the SQL off this thread.
      dataDir: join(dir, 'router'),
      ...(process.env.NEURINO_BENCH_DATABASE_URL && { databaseUrl: process.env.NEURINO_BENCH_DATABASE_URL }),
      // The journal's durability (default 'os'); NEURINO_BENCH_JOURNAL_SYNC=disk measures the stricter mode.
      journalSync: journalSyncFromEnv(),
    });
    cleanups.push(() => router.stop());
    const { key } = await router.apiKeys.create({ account: developer, label: 'bench' });

    const minerCommon = {
      routerWsUrl: router.wsUrl,
      rpcUrl: anvil.rpcUrl,
      addressesFile,
      logDir,
      logLevel: logLevel === 'silent' ? 'warn' : logLevel,
    };
    const miners: Array<{ child: DevnetChild; node: Address }> = [];
    for (const [name, index, pod, slots] of [
      ['miner-llama-cpp', minerIndexes.tiny, { model: model.path }, TINY_POD.slots],
      [
        'miner-upstream',
        minerIndexes.upstream,
        { upstream: `${upstream.url}/v1`, upstreamModel: UPSTREAM_MODEL, vramMiB: 1 },
        concurrency,
      ],
    ] as const) {
      const child = await spawnMinerProcess({
        ...minerCommon,
        name,
        nodeKey: devPrivateKey(index),
        pod,
        slots,
        ...('model' in pod && { threads: TINY_POD.threads }),
        dataDir: join(dir, name),
      });
      cleanups.push(() => child.stop());
      miners.push({ child, node: devAccount(index).address });
    }
    const trivialMiner = await spawnTrivialMiner({
      routerWsUrl: router.wsUrl,
      addressesFile,
      nodeKey: devPrivateKey(minerIndexes.trivial),
      slots: concurrency,
      logDir,
    });
    cleanups.push(() => trivialMiner.stop());
    // Ready once each miner has told the router what it holds (its first snapshot).
    const announced = (node: Address) => async () =>
      router.hub
        .sessions()
        .some((s) => s.node.toLowerCase() === node.toLowerCase() && s.snapshot() !== undefined);
    for (const { child, node } of miners) {
      await waitFor(`${child.name} announced`, announced(node), { timeoutMs: 60_000, child });
    }
    await waitFor(
      `trivial-pod miner announced (log: ${trivialMiner.logFile})`,
      announced(devAccount(minerIndexes.trivial).address),
      {
        timeoutMs: 60_000,
      },
    );

    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const gatewayUrl = `${router.url}/v1/chat/completions`;
    const direct = await spawnDirectPod({ model: model.path, ...TINY_POD, logDir });
    cleanups.push(() => direct.stop());
    const latency = await measureLatency({ direct, gatewayUrl, headers, requests, warmup });

    const load = new LoadGenerator();
    cleanups.push(() => load.close());
    const sides: Record<Side, LoadTarget> = {
      bare: {
        url: `${bareHandler.url}/v1/chat/completions`,
        headers: { 'content-type': 'application/json' },
        body: throughputBody(UPSTREAM_MODEL),
      },
      whole: { url: gatewayUrl, headers, body: throughputBody(TRIVIAL_POD_MODEL) },
      upstream: { url: gatewayUrl, headers, body: throughputBody(UPSTREAM_MODEL) },
    };
    // Warm up both paths (JIT, connections) before anything counts.
    for (const target of Object.values(sides)) await load.run(target, concurrency, 1_000);
    const totals: Record<Side, Omit<LoadRun, 'latenciesMs'>> = {
      bare: { requests: 0, errors: 0, seconds: 0 },
      whole: { requests: 0, errors: 0, seconds: 0 },
      upstream: { requests: 0, errors: 0, seconds: 0 },
    };
    const latencies: Record<Side, Float64Array[]> = { bare: [], whole: [], upstream: [] };
    const none: CpuTimes = { busyMs: 0, idleMs: 0 };
    const cpu: Record<Side, CpuTimes> = { bare: none, whole: none, upstream: none };
    for (let round = 0; round < rounds; round++) {
      for (const side of SIDES) {
        const before = machineCpuTimes();
        const run = await load.run(sides[side], concurrency, runMs);
        cpu[side] = addCpu(cpu[side], cpuSpent(before, machineCpuTimes()));
        totals[side].requests += run.requests;
        totals[side].errors += run.errors;
        totals[side].seconds += run.seconds;
        latencies[side].push(run.latenciesMs);
      }
    }
    const sweep = options.sweep ?? DEFAULT_SWEEP;
    const best = { bare: { rps: 0, concurrency: 0 }, whole: { rps: 0, concurrency: 0 } };
    for (const inFlight of sweep) {
      for (const side of ['bare', 'whole'] as const) {
        const run = await load.run(sides[side], inFlight, runMs);
        const rps = run.requests / run.seconds;
        if (run.errors === 0 && rps > best[side].rps) best[side] = { rps, concurrency: inFlight };
      }
    }
    const underLoad = (side: Side) => percentiles(latencies[side].flatMap((run) => [...run]));
    const machineCpu = (side: Side) => {
      const { busyMs, idleMs } = cpu[side];
      return {
        usPerRequest: (busyMs * 1_000) / Math.max(1, totals[side].requests),
        idleShare: idleMs / Math.max(1, busyMs + idleMs),
      };
    };
    const bareRps = totals.bare.requests / totals.bare.seconds;
    const wholePathRps = totals.whole.requests / totals.whole.seconds;
    const upstreamPathRps = totals.upstream.requests / totals.upstream.seconds;
    finished = true;
    return {
      latency,
      throughput: {
        concurrency,
        secondsPerSide: totals.bare.seconds,
        bareRps,
        wholePathRps,
        ratio: wholePathRps / bareRps,
        upstreamPathRps,
        errors: {
          bare: totals.bare.errors,
          wholePath: totals.whole.errors,
          upstreamPath: totals.upstream.errors,
        },
        underLoad: {
          bare: underLoad('bare'),
          wholePath: underLoad('whole'),
          upstreamPath: underLoad('upstream'),
        },
        machineCpu: {
          bare: machineCpu('bare'),
          wholePath: machineCpu('whole'),
          upstreamPath: machineCpu('upstream'),
        },
        best:
          sweep.length === 0
            ? undefined
            : {
                sweep,
                bare: best.bare,
                wholePath: best.whole,
                ratio: best.whole.rps / Math.max(1, best.bare.rps),
              },
      },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** The best-of sweep's numbers in flight (32 again: one run, like the others). */
const DEFAULT_SWEEP = [16, 32, 64, 128] as const;

/** The throughput loops, run in turn each round so machine noise hits all of them. */
const SIDES = ['bare', 'whole', 'upstream'] as const;
type Side = (typeof SIDES)[number];

if (import.meta.url === `file://${process.argv[1]}`) printGatewayBench(await benchGateway());
