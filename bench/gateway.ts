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

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
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
  type DirectPodProcess,
  spawnDirectPod,
  spawnMinerProcess,
  spawnTrivialMiner,
  spawnTrivialUpstream,
} from './bench-processes.ts';
import { LoadGenerator, type LoadRun, type LoadTarget } from './load-generator.ts';
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
}

export interface Percentiles {
  p50Ms: number;
  p99Ms: number;
}

export interface GatewayBenchResult {
  latency: {
    requests: number;
    /** `runtime.chat()` alone, timed inside the direct pod's process (built like the miner's pod). */
    runtime: Percentiles;
    /** The baseline: the request straight to that runtime, a bare Fastify handler around it, over HTTP. */
    direct: Percentiles;
    /** The same request through gateway → router → miner → the same runtime. */
    gateway: Percentiles;
    /** gateway − direct: what the hop adds (the target). */
    addedP50Ms: number;
    addedP99Ms: number;
    /** gateway − runtime alone: also counts the HTTP exchange any direct request would pay. */
    addedOverRuntime: Percentiles;
  };
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
  };
}

export const GATEWAY_TARGETS = { addedP50Ms: 2, addedP99Ms: 10, throughputRatio: 0.5 } as const;

/** What ran where, printed under the table. */
export const GATEWAY_PLACEMENT =
  'processes: bench (router + gateway, bare handler, latency client) · load worker thread · ' +
  'direct llama.cpp runtime · miner llama.cpp · miner trivial pod · miner openai-upstream · trivial upstream · anvil';

/** The llama.cpp pod's runtime options, the same for the miner's pod and the direct baseline. */
const TINY_POD = { slots: 2, threads: 1 } as const;

const LATENCY_REQUEST = {
  model: TINY_MODEL_NAME,
  messages: [{ role: 'user' as const, content: 'Hello there' }],
  max_tokens: 8,
  temperature: 0.7,
  seed: 7,
};
const throughputBody = (model: string) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });

function journalSyncFromEnv(): JournalSync {
  const mode = process.env.NEURINO_BENCH_JOURNAL_SYNC ?? 'os';
  if (mode !== 'os' && mode !== 'disk')
    throw new Error(`NEURINO_BENCH_JOURNAL_SYNC must be os or disk, got ${mode}`);
  return mode;
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
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
    const totals: Record<Side, LoadRun> = {
      bare: { requests: 0, errors: 0, seconds: 0 },
      whole: { requests: 0, errors: 0, seconds: 0 },
      upstream: { requests: 0, errors: 0, seconds: 0 },
    };
    for (let round = 0; round < rounds; round++) {
      for (const side of SIDES) {
        const run = await load.run(sides[side], concurrency, runMs);
        totals[side].requests += run.requests;
        totals[side].errors += run.errors;
        totals[side].seconds += run.seconds;
      }
    }
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
      },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** The throughput loops, run in turn each round so machine noise hits all of them. */
const SIDES = ['bare', 'whole', 'upstream'] as const;
type Side = (typeof SIDES)[number];

/** One side of the latency comparison: the answer's text, how long the call took, and any inner timing. */
type TimedCall = () => Promise<{ ms: number; text: string | undefined; runtimeMs?: number }>;

async function measureLatency(params: {
  direct: DirectPodProcess;
  gatewayUrl: string;
  headers: Record<string, string>;
  requests: number;
  warmup: number;
}): Promise<GatewayBenchResult['latency']> {
  const body = JSON.stringify(LATENCY_REQUEST);
  // Each side on one kept-alive connection of Node's own HTTP client: what is timed is the hop, not a
  // heavier client's machinery (fetch measured 1.5-3.5 ms more per call here, partly CPU taken from the miner).
  const agents: Agent[] = [];
  const timedPost = (url: string, headers: Record<string, string>): TimedCall => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    return async () => {
      const started = performance.now();
      const { status, json } = await postJson(url, headers, body, agent);
      const ms = performance.now() - started;
      if (status !== 200) throw new Error(`${url} answered ${status}: ${JSON.stringify(json)}`);
      const answer = json as { choices?: Array<{ message?: { content?: string } }>; runtime_ms?: number };
      const text = answer.choices?.[0]?.message?.content;
      return { ms, text, ...(answer.runtime_ms === undefined ? {} : { runtimeMs: answer.runtime_ms }) };
    };
  };
  const direct = timedPost(`${params.direct.url}/v1/chat/completions`, {
    'content-type': 'application/json',
  });
  const gateway = timedPost(params.gatewayUrl, params.headers);
  try {
    // Both sides must give the same seeded answer, or they did not do the same work.
    const [expected, relayed] = [(await direct()).text, (await gateway()).text];
    if (expected !== relayed) {
      throw new Error(
        `direct and gateway answers differ: ${JSON.stringify(expected)} vs ${JSON.stringify(relayed)}`,
      );
    }
    const runtimeMs: number[] = [];
    const directMs: number[] = [];
    const gatewayMs: number[] = [];
    const runDirect = async (keep: boolean) => {
      const { ms, runtimeMs: inner } = await direct();
      if (!keep) return;
      directMs.push(ms);
      runtimeMs.push(inner ?? Number.NaN);
    };
    const runGateway = async (keep: boolean) => {
      const { ms } = await gateway();
      if (keep) gatewayMs.push(ms);
    };
    for (let i = 0; i < params.warmup + params.requests; i++) {
      const keep = i >= params.warmup;
      // Alternate which side goes first, so neither always runs on a just-warmed cache.
      if (i % 2 === 0) {
        await runDirect(keep);
        await runGateway(keep);
      } else {
        await runGateway(keep);
        await runDirect(keep);
      }
    }
    const runtime = percentiles(runtimeMs);
    const directP = percentiles(directMs);
    const gatewayP = percentiles(gatewayMs);
    // Every sample, for a closer look at the distribution (NEURINO_BENCH_SAMPLES=file.json).
    const samplesFile = process.env.NEURINO_BENCH_SAMPLES;
    if (samplesFile) await writeFile(samplesFile, JSON.stringify({ runtimeMs, directMs, gatewayMs }));
    return {
      requests: params.requests,
      runtime,
      direct: directP,
      gateway: gatewayP,
      addedP50Ms: gatewayP.p50Ms - directP.p50Ms,
      addedP99Ms: gatewayP.p99Ms - directP.p99Ms,
      addedOverRuntime: { p50Ms: gatewayP.p50Ms - runtime.p50Ms, p99Ms: gatewayP.p99Ms - runtime.p99Ms },
    };
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/** POSTs `body` and reads the whole JSON answer. */
function postJson(
  url: string,
  headers: Record<string, string>,
  body: string,
  agent: Agent,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('error', reject);
        response.on('end', () => {
          try {
            resolve({
              status: response.statusCode ?? 0,
              json: JSON.parse(Buffer.concat(parts).toString('utf8')),
            });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

export function printGatewayBench(result: GatewayBenchResult): void {
  const { latency: l, throughput: t } = result;
  const ms = (value: number) => `${value.toFixed(2)} ms`.padStart(10);
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log(`gateway: one seeded chat (max_tokens 8), ${l.requests} interleaved pairs`);
  console.log('                                      p50         p99');
  console.log(
    `  runtime call alone            ${ms(l.runtime.p50Ms)}  ${ms(l.runtime.p99Ms)}   (timed inside the pod's process)`,
  );
  console.log(
    `  request straight to the pod   ${ms(l.direct.p50Ms)}  ${ms(l.direct.p99Ms)}   (HTTP to a bare handler around the runtime)`,
  );
  console.log(`  gateway → router → miner      ${ms(l.gateway.p50Ms)}  ${ms(l.gateway.p99Ms)}`);
  console.log(
    `  added over the runtime alone  ${ms(l.addedOverRuntime.p50Ms)}  ${ms(l.addedOverRuntime.p99Ms)}`,
  );
  console.log(
    `  added over the direct request ${ms(l.addedP50Ms)}  ${ms(l.addedP99Ms)}   (target ≤ ${GATEWAY_TARGETS.addedP50Ms} ms p50: ${mark(l.addedP50Ms <= GATEWAY_TARGETS.addedP50Ms)}; ≤ ${GATEWAY_TARGETS.addedP99Ms} ms p99: ${mark(l.addedP99Ms <= GATEWAY_TARGETS.addedP99Ms)})`,
  );
  console.log(
    `gateway: throughput with a trivial pod, ${t.concurrency} in flight, ${t.secondsPerSide.toFixed(1)} s per side`,
  );
  const rps = (value: number) => `${value.toFixed(0)} req/s`.padStart(12);
  console.log(`  bare Fastify handler          ${rps(t.bareRps)}   (errors ${t.errors.bare})`);
  console.log(`  whole path, trivial pod       ${rps(t.wholePathRps)}   (errors ${t.errors.wholePath})`);
  console.log(
    `  whole path / bare             ${`${(t.ratio * 100).toFixed(1)} %`.padStart(12)}   (target ≥ ${GATEWAY_TARGETS.throughputRatio * 100} %: ${mark(t.ratio >= GATEWAY_TARGETS.throughputRatio)})`,
  );
  console.log(
    `  for reference: whole path to an openai-upstream pod relaying to that handler in its own process ${rps(t.upstreamPathRps).trim()} (errors ${t.errors.upstreamPath})`,
  );
  console.log(`  ${GATEWAY_PLACEMENT}`);
}

if (import.meta.url === `file://${process.argv[1]}`) printGatewayBench(await benchGateway());
