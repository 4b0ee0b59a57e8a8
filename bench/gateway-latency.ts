// The gateway bench's latency half: the same seeded chat request straight to a llama.cpp pod runtime
// behind a bare handler, and through gateway → router → miner to the same runtime, interleaved.
import { writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { TINY_MODEL_NAME } from '../src/compute/model/tiny-model.ts';
import type { DirectPodProcess } from './bench-processes.ts';
import { type Percentiles, percentiles } from './percentiles.ts';

export interface LatencyComparison {
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
}

const LATENCY_REQUEST = {
  model: TINY_MODEL_NAME,
  messages: [{ role: 'user' as const, content: 'Hello there' }],
  max_tokens: 8,
  temperature: 0.7,
  seed: 7,
};
/** One side of the latency comparison: the answer's text, how long the call took, and any inner timing. */
type TimedCall = () => Promise<{ ms: number; text: string | undefined; runtimeMs?: number }>;

export async function measureLatency(params: {
  direct: DirectPodProcess;
  gatewayUrl: string;
  headers: Record<string, string>;
  requests: number;
  warmup: number;
}): Promise<LatencyComparison> {
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
