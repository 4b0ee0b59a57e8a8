// What a finished job costs the router when many wait for the same busy pod: the dispatcher and its real
// miner hub, with one miner peer (real frames, real signatures) holding a single slot, drained of a deep
// queue vs a shallow one, side by side in one run. A freed slot wakes one waiting job, so the cost per job
// should not grow with the queue (before that change each freed slot woke every waiter, which each picked
// again: 785 µs per job at 16 in flight, 40.6 ms at 2,048, 52×). Target: deep / shallow ≤ 1.25.
import { devPrivateKey } from '../src/chain/dev-accounts.ts';
import { Dispatcher } from '../src/orchestration/router/dispatcher.ts';
import { MinerHub } from '../src/orchestration/router/miner-hub.ts';
import { allowlistNodeAdmission } from '../src/orchestration/router/node-admission.ts';
import { PodCatalog } from '../src/orchestration/router/pod-catalog.ts';
import { Scheduler } from '../src/orchestration/router/scheduler.ts';
import { MinerPeer, testCapabilities } from '../src/orchestration/router/testing/miner-peer.ts';
import { serveMinerHub } from '../src/orchestration/router/testing/ws-loopback.ts';
import { fastAccount } from '../src/protocol/fast-account.ts';
import { newJobId } from '../src/protocol/ids.ts';
import { captureLogger } from '../src/protocol/testing/capture-logger.ts';
import { SAMPLE_PAYER, samplePodSpec } from '../src/protocol/testing/samples.ts';

export interface QueueBenchOptions {
  /** Jobs in flight at once (one running, the rest waiting), kept up until `jobs` have finished. */
  shallow?: number;
  deep?: number;
  jobs?: number;
  /** Each depth runs this many times, alternating; the best run of each counts. */
  rounds?: number;
}

export interface QueueBenchResult {
  shallow: number;
  deep: number;
  /** CPU of this process per finished job (router and peer alike), best run. */
  shallowMicros: number;
  deepMicros: number;
  /** deepMicros / shallowMicros. */
  ratio: number;
}

const domain = { chainId: 31337, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' } as const;

/** `jobs` jobs through one single-slot miner, `inFlight` at a time (a closed loop); CPU µs per job. */
async function run(inFlight: number, jobs: number): Promise<number> {
  const account = fastAccount(devPrivateKey(10));
  const spec = samplePodSpec({ name: 'queue-bench', minVramMiB: 256, software: {}, pricePerUnit: 3n });
  const catalog = new PodCatalog([spec]);
  const pod = catalog.requireModel('queue-bench');
  const { logger } = captureLogger();
  const hub = new MinerHub({
    routerId: 'bench',
    domain,
    admission: allowlistNodeAdmission([account.address]),
    logger,
    readmitEveryMs: 0,
  });
  const endpoint = await serveMinerHub(hub);
  const scheduler = new Scheduler();
  const dispatcher = new Dispatcher({ hub, scheduler, catalog, logger, maxQueueMs: 600_000 });
  const peer = await MinerPeer.join(
    { url: endpoint.url, account, domain },
    testCapabilities({ efficiency: 1, warmPods: [pod.podId], slots: { total: 1, free: 1 } }),
  );
  while (scheduler.stats().available === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  peer.serve(async (assign) => {
    peer.accept(assign);
    await peer.result(assign, { text: 'ok' });
  });
  try {
    let left = jobs;
    const worker = async () => {
      while (left > 0) {
        left--;
        await dispatcher.dispatch(
          {
            jobId: newJobId(),
            podId: pod.podId,
            kind: 'chat',
            input: {},
            stream: false,
            payer: SAMPLE_PAYER,
            pricePerUnit: 3n,
          },
          { maxRetries: 0, deadlineAt: Date.now() + 600_000 },
        );
      }
    };
    const cpu = process.cpuUsage();
    await Promise.all(Array.from({ length: inFlight }, worker));
    const spent = process.cpuUsage(cpu);
    return (spent.user + spent.system) / jobs;
  } finally {
    peer.terminate();
    dispatcher.close();
    await hub.close({ graceMs: 0 });
    await endpoint.close();
  }
}

export async function benchQueue(options: QueueBenchOptions = {}): Promise<QueueBenchResult> {
  const shallow = options.shallow ?? 16;
  const deep = options.deep ?? 2_048;
  const jobs = options.jobs ?? 4_096;
  const rounds = options.rounds ?? 2;
  await run(shallow, 256); // warm-up: the JIT, the loopback socket
  let shallowMicros = Number.POSITIVE_INFINITY;
  let deepMicros = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    shallowMicros = Math.min(shallowMicros, await run(shallow, jobs));
    deepMicros = Math.min(deepMicros, await run(deep, jobs));
  }
  return { shallow, deep, shallowMicros, deepMicros, ratio: deepMicros / shallowMicros };
}

export function printQueueBench(result: QueueBenchResult): void {
  const verdict = result.ratio <= 1.25 ? 'met' : 'MISSED';
  console.log('queue: jobs in flight for one single-slot miner (all but one waiting); CPU per finished job');
  console.log(
    `  ${String(result.shallow).padStart(5)} in flight   ${result.shallowMicros.toFixed(0).padStart(6)} µs/job`,
  );
  console.log(
    `  ${String(result.deep).padStart(5)} in flight   ${result.deepMicros.toFixed(0).padStart(6)} µs/job`,
  );
  console.log(`  deep / shallow      ${result.ratio.toFixed(2)}×   (target ≤ 1.25: ${verdict})`);
}

if (import.meta.url === `file://${process.argv[1]}`) printQueueBench(await benchQueue());
