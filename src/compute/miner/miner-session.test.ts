// The miner's connection to the router: handshake, refusals, reconnects and draining, against a router
// that verifies the challenge answer with checkChallengeAnswer, with the real runtime on the tiny model.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { attemptIdFor, newJobId } from '../../protocol/ids.ts';
import { captureLogger } from '../../protocol/testing/capture-logger.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { MinerError } from './errors.ts';
import type { CompletionJobOutput } from './job-output.ts';
import { startMiner } from './miner.ts';
import {
  newNodeAccount,
  startTestMiner,
  TEST_DOMAIN,
  TEST_HARDWARE,
  type TinyPod,
  tinyPod,
} from './testing/miner-fixture.ts';
import { TestRouter } from './testing/test-router.ts';

let pod: TinyPod;
const cleanups: Array<() => Promise<void>> = [];

async function router(options: Partial<Parameters<typeof TestRouter.start>[0]> = {}) {
  const started = await TestRouter.start({ domain: TEST_DOMAIN, heartbeatMs: 100, ...options });
  cleanups.push(() => started.close());
  return started;
}

async function miner(url: string, overrides: Parameters<typeof startTestMiner>[2] = {}) {
  const started = await startTestMiner(pod, url, overrides);
  cleanups.push(() => started.miner.stop());
  return started;
}

/** A completion long enough to still be running while the test acts on it. */
const longCompletion = { model: 'neurino-tiny', prompt: 'Once upon', max_tokens: 400, temperature: 0 };

beforeAll(async () => {
  pod = await tinyPod();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await pod?.cleanup();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('handshake', () => {
  it('says hello, answers the challenge, and announces its capabilities', async () => {
    const server = await router();
    const { miner: m } = await miner(server.url);
    await m.connected();
    const connection = await server.welcomedConnection(0);
    const hello = await connection.waitFor('hello');
    expect(hello).toMatchObject({ version: PROTOCOL_VERSION, node: m.address });
    expect(hello.software.node).toBe(process.version);
    const capabilities = await connection.waitFor('capabilities');
    expect(capabilities).toEqual({
      type: 'capabilities',
      gpus: [],
      cpu: TEST_HARDWARE.cpu,
      ramMiB: TEST_HARDWARE.ramMiB,
      efficiency: 12.5,
      slots: { total: 2, free: 2 },
      warmPods: [pod.podId],
      runtimes: ['llama-cpp'],
      hostedPods: [pod.podId],
      // The jobs its pod runs at once (the router fills the node's slots with a pod's jobs up to these).
      podSlots: [{ podId: pod.podId, total: 2 }],
      // The node's memory (a CPU node's RAM) and what the tiny model holds of it (here its file, rounded
      // up: the test pod gives no estimate of its KV cache).
      podMemory: { budgetMiB: TEST_HARDWARE.ramMiB, heldMiB: 1, pods: [{ podId: pod.podId, mib: 1 }] },
    });
    expect(m.state()).toMatchObject({ status: 'connected', sessionId: connection.sessionId, connections: 1 });
    expect(connection.badFrames).toEqual([]);
  });

  it('probes the machine and benchmarks itself when not told', async () => {
    const server = await router();
    const m = await startMiner({
      routerUrl: server.url,
      account: newNodeAccount(),
      domain: TEST_DOMAIN,
      pods: [{ spec: pod.spec, podId: pod.podId, runtime: pod.runtime }],
      logger: captureLogger().logger,
    });
    cleanups.push(() => m.stop());
    await m.connected();
    const capabilities = await (await server.welcomedConnection(0)).waitFor('capabilities');
    expect(capabilities.cpu.cores).toBeGreaterThanOrEqual(1);
    expect(capabilities.ramMiB).toBeGreaterThan(0);
    expect(capabilities.efficiency).toBeGreaterThan(0);
    expect(m.state().efficiency).toBe(capabilities.efficiency);
  });

  it.each([
    ['node_not_registered', 'node is not registered'],
    ['node_not_staked', 'stake 0 below the minimum'],
    ['node_jailed', 'node is jailed'],
  ] as const)('stops with a clear message when refused as %s', async (code, reason) => {
    const server = await router({ admit: () => ({ ok: false, code, reason }) });
    const { miner: m, lines } = await miner(server.url);
    const error = await rejection(m.connected());
    expect(error).toBeInstanceOf(MinerError);
    expect(error).toMatchObject({ code: 'router_refused' });
    expect((error as Error).message).toContain(`(${code}): ${reason}`);
    expect(await m.done).toEqual({ reason: 'refused', refusal: { code, reason } });
    expect(m.state()).toMatchObject({ status: 'stopped', lastRefusal: { code, reason } });
    expect(lines.some((l) => l.level === 40 && l.msg === `router refused this node: ${reason}`)).toBe(true);
    expect(server.connections).toHaveLength(1);
  });

  it('keeps retrying a refusal when told to, and gets in once the node is staked', async () => {
    let refusals = 0;
    const server = await router({
      admit: () =>
        ++refusals <= 2 ? { ok: false, code: 'node_not_staked', reason: 'waiting for stake' } : { ok: true },
    });
    const { miner: m } = await miner(server.url, { retryRefused: true });
    await m.connected();
    expect(server.connections.length).toBe(3);
    expect(m.state().lastRefusal?.code).toBe('node_not_staked');
  });

  it('is refused with bad_signature when it signs for another chain, and stops', async () => {
    const server = await router();
    const { miner: m } = await miner(server.url, { domain: { ...TEST_DOMAIN, chainId: 1 } });
    expect(await rejection(m.connected())).toMatchObject({ code: 'router_refused' });
    expect((await m.done).refusal?.code).toBe('bad_signature');
    expect(server.connections[0]?.refusedWith).toMatchObject({ code: 'bad_signature' });
  });

  it('gives up on a router that never finishes the handshake, and tries again', async () => {
    const server = await router({ admit: () => new Promise(() => undefined) });
    const { miner: m, lines } = await miner(server.url, { handshakeTimeoutMs: 100 });
    while (server.connections.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(m.state().status).toBe('connecting');
    expect(lines.some((l) => l.msg === 'router did not complete the handshake within 100 ms')).toBe(true);
  });
});

describe('reconnecting', () => {
  it('reconnects after the router drops the socket, with a new session', async () => {
    const server = await router();
    const { miner: m } = await miner(server.url);
    const first = await server.welcomedConnection(0);
    first.drop();
    const second = await server.welcomedConnection(1);
    expect(second.node).toBe(m.address);
    expect(second.sessionId).not.toBe(first.sessionId);
    await second.waitFor('capabilities');
    const outcome = await second.assign({
      podId: pod.podId,
      kind: 'chat',
      input: { model: 'neurino-tiny', messages: [{ role: 'user', content: 'again' }], max_tokens: 4 },
    });
    expect(outcome.checked?.ok).toBe(true);
    expect(m.state().connections).toBe(2);
  });

  it('cancels running jobs when the connection is lost and frees their slots', async () => {
    const server = await router();
    const { miner: m } = await miner(server.url);
    const first = await server.welcomedConnection(0);
    const jobId = newJobId();
    void first.assign({ jobId, podId: pod.podId, kind: 'completion', input: longCompletion, stream: true });
    await first.waitFor('job.chunk', (c) => c.attemptId === attemptIdFor(jobId, 0));
    first.drop();
    await server.welcomedConnection(1);
    while (m.state().slots.free < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(m.state().jobsFailed).toBe(1);
  });

  it('keeps dialing until the router comes up', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/v1/miners`;
    const { miner: m, lines } = await miner(url);
    while (!lines.some((l) => l.msg.startsWith('could not reach the router'))) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const server = await router({ port });
    await m.connected();
    expect((await server.welcomedConnection(0)).node).toBe(m.address);
  });
});

describe('draining', () => {
  it('finishes the running job, refuses new ones, says draining, then stops', async () => {
    const server = await router();
    const { miner: m } = await miner(server.url);
    const connection = await server.welcomedConnection(0);
    const jobId = newJobId();
    const running = connection.assign({
      jobId,
      podId: pod.podId,
      kind: 'completion',
      input: longCompletion,
      stream: true,
    });
    await connection.waitFor('job.chunk', (c) => c.attemptId === attemptIdFor(jobId, 0));

    const drained = m.drain();
    const draining = await connection.waitFor('draining');
    expect(draining.activeJobs).toBe(1);
    expect(m.state().status).toBe('draining');
    const refused = await connection.assign({
      podId: pod.podId,
      kind: 'chat',
      input: { model: 'neurino-tiny', messages: [{ role: 'user', content: 'late' }] },
    });
    expect(refused.error).toMatchObject({ code: 'node_draining', retryable: true, slotsFree: 1 });

    const finished = await running;
    expect(finished.checked?.ok).toBe(true);
    const output = finished.result?.output as CompletionJobOutput;
    expect(output.choices[0]?.text).toBe(finished.chunks.map((c) => c.delta).join(''));
    await drained;
    expect(await m.done).toEqual({ reason: 'drained' });
    expect((await connection.closed).code).toBe(1000);
    expect(m.state().status).toBe('stopped');
    expect(pod.runtime.info().warm).toBe(false);
    expect(server.connections).toHaveLength(1);
  });

  it('drains when the router asks, then reconnects', async () => {
    const server = await router();
    const { miner: m } = await miner(server.url);
    const first = await server.welcomedConnection(0);
    first.send({ type: 'drain', reason: 'router restarting' });
    expect((await first.waitFor('draining')).activeJobs).toBe(0);
    expect((await first.closed).code).toBe(1000);
    // Capabilities follow the miner's handling of `welcome`.
    await (await server.welcomedConnection(1)).waitFor('capabilities');
    expect(m.state()).toMatchObject({ status: 'connected', connections: 2 });
  });

  it('stops at once on stop(), cancelling what runs', async () => {
    const server = await router();
    const { miner: m } = await miner(server.url);
    const connection = await server.welcomedConnection(0);
    const jobId = newJobId();
    void connection.assign({
      jobId,
      podId: pod.podId,
      kind: 'completion',
      input: longCompletion,
      stream: true,
    });
    await connection.waitFor('job.chunk', (c) => c.attemptId === attemptIdFor(jobId, 0));
    await m.stop();
    expect(await m.done).toEqual({ reason: 'stopped' });
    expect(m.state()).toMatchObject({ status: 'stopped', activeJobs: 0, jobsFailed: 1 });
  });
});

describe('configuration', () => {
  it('refuses a bad router URL, no pods, and a pod whose id does not match its spec', async () => {
    await expect(startTestMiner(pod, 'ftp://x')).rejects.toMatchObject({ code: 'invalid_config' });
    await expect(startTestMiner(pod, 'ws://127.0.0.1:1', { pods: [] })).rejects.toMatchObject({
      code: 'invalid_config',
    });
    const wrongId = [{ spec: pod.spec, podId: `0x${'1'.repeat(64)}` as const, runtime: pod.runtime }];
    await expect(startTestMiner(pod, 'ws://127.0.0.1:1', { pods: wrongId })).rejects.toThrow(
      /does not match/,
    );
  });
});
