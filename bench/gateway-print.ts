// How the gateway bench reports: its table, the targets, and what ran where.
import type { GatewayBenchResult } from './gateway.ts';
import type { Percentiles } from './percentiles.ts';

export const GATEWAY_TARGETS = { addedP50Ms: 2, addedP99Ms: 10, throughputRatio: 0.5 } as const;

/** What ran where, printed under the table. */
export const GATEWAY_PLACEMENT =
  'processes: bench (router + gateway, bare handler, latency client) · load worker thread · ' +
  'direct llama.cpp runtime · miner llama.cpp · miner trivial pod · miner openai-upstream · trivial upstream · anvil';

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
  const tail = (p: Percentiles) => `${p.p50Ms.toFixed(1)} / ${p.p99Ms.toFixed(1)} ms`;
  const u = t.underLoad;
  console.log(
    `  each request's time under this load, p50 / p99: bare ${tail(u.bare)}, whole path ${tail(u.wholePath)}, through openai-upstream ${tail(u.upstreamPath)} (queueing at full load; not a target)`,
  );
  const c = t.machineCpu;
  const spent = (side: { usPerRequest: number; idleShare: number }) =>
    `${side.usPerRequest.toFixed(0)} µs (idle ${(side.idleShare * 100).toFixed(0)} %)`;
  console.log(
    `  the machine's CPU per request (all processes) and its idle share: bare ${spent(c.bare)}, whole path ${spent(c.wholePath)}, through openai-upstream ${spent(c.upstreamPath)}`,
  );
  if (t.best !== undefined) {
    const { bare, wholePath, ratio, sweep } = t.best;
    console.log(
      `  each side at its best in flight (${sweep.join(', ')}; one run each): bare ${bare.rps.toFixed(0)} req/s at ${bare.concurrency}, whole path ${wholePath.rps.toFixed(0)} at ${wholePath.concurrency}: ${(ratio * 100).toFixed(1)} % (for information; the target line is at ${t.concurrency} for both)`,
    );
  }
  console.log(`  ${GATEWAY_PLACEMENT}`);
}
