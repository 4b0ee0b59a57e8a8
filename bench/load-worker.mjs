// The closed-loop load generator, in a worker thread so its event loop is not the one under test (as wrk
// would be). Plain JavaScript: on Node 20 a worker does not get tsx's loader, so a .ts entry fails.
// Messages in: { id, url, headers, body, concurrency, durationMs }; out: { id, requests, errors, seconds,
// latenciesMs } (each answered request's time from send to its last byte, a Float64Array, transferred).
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';

/** `concurrency` loops, each sending the next request as soon as its last one is answered. */
async function closedLoop({ url, headers, body, concurrency, durationMs }) {
  let requests = 0;
  let errors = 0;
  const latencies = [];
  const started = performance.now();
  const until = started + durationMs;
  const loop = async () => {
    while (performance.now() < until) {
      try {
        const sent = performance.now();
        const response = await fetch(url, { method: 'POST', headers, body });
        await response.arrayBuffer();
        if (response.ok) {
          requests++;
          latencies.push(performance.now() - sent);
        } else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return {
    requests,
    errors,
    seconds: (performance.now() - started) / 1_000,
    latenciesMs: Float64Array.from(latencies),
  };
}

parentPort?.on('message', async (run) => {
  try {
    const result = await closedLoop(run);
    parentPort?.postMessage({ id: run.id, ...result }, [result.latenciesMs.buffer]);
  } catch (error) {
    parentPort?.postMessage({ id: run.id, failure: String(error) });
  }
});
