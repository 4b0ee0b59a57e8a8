import { afterEach, describe, expect, it } from 'vitest';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { RATE_LIMITED_PAUSE_MS } from './attempt-failure.ts';
import { DISPATCHER_DEFAULTS } from './dispatcher.ts';
import {
  budget,
  closeRigs,
  honest,
  job,
  minerA,
  minerB,
  minerC,
  pod,
  rejection,
  setup,
} from './testing/dispatcher-rig.ts';
import { testCapabilities } from './testing/miner-peer.ts';
import { waitFor } from './testing/wait-for.ts';

afterEach(closeRigs);

// Busy nodes (full, draining, rate limited) did no work: they cost the caller no retry and the node no
// suspension, and a node that may take the job soon is waited for.
describe('Dispatcher with busy nodes', () => {
  it('moves on without suspending a node that is busy or cannot load the pod', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const busy = await join(minerA, 100);
    busy.serve((assign) => busy.fail(assign, 'no_capacity', 'full', true));
    const cold = await join(minerC, 50);
    cold.serve((assign) => cold.fail(assign, 'pod_not_found', 'no such pod here', false));
    honest(await join(minerB, 10));
    const outcome = await dispatcher.dispatch(job(), budget());
    expect(outcome).toMatchObject({ node: minerB.address, attempts: 3 });
    expect(scheduler.isSuspended(minerA.address)).toBe(false);
    expect(scheduler.isSuspended(minerC.address)).toBe(false);
    expect(dispatcher.stats().attempts).toMatchObject({ busy: 1, cannot_load: 1, succeeded: 1 });
  });

  it('waits for a node that refused a job as full, at no cost to the budget, and asks it again once a slot frees', async () => {
    const { dispatcher, hub, join } = await setup();
    const peer = await join(minerA, 100, 1);
    const assigned: JobAssign[] = [];
    peer.serve(async (assign) => {
      assigned.push(assign);
      // Its one slot busy with a job from before this session, which the router does not know of.
      if (assigned.length === 1) return peer.fail(assign, 'no_capacity', 'no free slot', true, 0);
      await peer.result(assign, 'served');
    });
    const running = dispatcher.dispatch(job(), budget({ maxRetries: 0 }));
    await waitFor(() => hub.session(minerA.address)?.freeSlots === 0 && assigned.length === 1, 'refused');
    // The router's count follows the refusal: nothing is sent until the node says a slot is free.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(assigned).toHaveLength(1);
    peer.heartbeat(1);
    const outcome = await running;
    expect(outcome).toMatchObject({ node: minerA.address, attempts: 2 });
    expect(outcome.result.output).toBe('served');
    expect(dispatcher.stats().attempts).toMatchObject({ busy: 1, succeeded: 1, node_fault: 0 });
  });

  it('moves on from a node draining, rate limited, or refusing as busy with slots free, to a free node, without spending a retry', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const refusing = await join(minerA, 100);
    let code = 'node_draining';
    refusing.serve((assign) => refusing.fail(assign, code, 'not now', true, 2));
    honest(await join(minerB, 10));
    for (const next of ['node_draining', 'no_capacity', 'rate_limited']) {
      code = next;
      const outcome = await dispatcher.dispatch(job(), budget({ maxRetries: 0 }));
      expect(outcome, next).toMatchObject({ node: minerB.address, attempts: 2 });
    }
    expect(refusing.received.filter((m) => m.type === 'job.assign')).toHaveLength(3);
    // No fault's suspension: only the rate limit's short pause.
    expect((scheduler.suspendedUntil(minerA.address) ?? 0) - Date.now()).toBeLessThanOrEqual(
      RATE_LIMITED_PAUSE_MS,
    );
  });

  it('pauses a rate-limited node for at least a second, as no fault and without shortening a suspension', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const limited = await join(minerA, 100);
    const held: JobAssign[] = [];
    let behaviour: 'limited' | 'hold-then-fail' = 'limited';
    limited.serve((assign) => {
      if (behaviour === 'limited') return limited.fail(assign, 'rate_limited', 'Model is overloaded', true);
      held.push(assign);
      // The second job on it fails as the node's fault while the first is still held.
      if (held.length === 2) limited.fail(assign, 'node_failed', 'engine crashed', true);
    });
    honest(await join(minerB, 10));
    const before = Date.now();
    expect(await dispatcher.dispatch(job(), budget({ maxRetries: 0 }))).toMatchObject({
      node: minerB.address,
    });
    const paused = scheduler.suspendedUntil(minerA.address) ?? 0;
    expect(paused).toBeGreaterThanOrEqual(before + RATE_LIMITED_PAUSE_MS);
    expect(paused).toBeLessThanOrEqual(Date.now() + RATE_LIMITED_PAUSE_MS);
    await waitFor(() => !scheduler.isSuspended(minerA.address), 'the pause over');

    behaviour = 'hold-then-fail';
    const first = dispatcher.dispatch(job(), budget());
    await waitFor(() => held.length === 1, 'the first job held');
    expect(await dispatcher.dispatch(job(), budget())).toMatchObject({ node: minerB.address });
    // The base suspension: the rate limit before it was no fault in a row.
    const suspended = scheduler.suspendedUntil(minerA.address) ?? 0;
    expect(suspended - Date.now()).toBeGreaterThan(20_000);
    expect(suspended - Date.now()).toBeLessThanOrEqual(DISPATCHER_DEFAULTS.suspension.baseMs);
    limited.fail(held[0] as JobAssign, 'rate_limited', 'Model is overloaded', true);
    expect(await first).toMatchObject({ node: minerB.address });
    expect(scheduler.suspendedUntil(minerA.address)).toBe(suspended);
  });

  it('asks a node that keeps refusing a job as full no more than twice', async () => {
    const { dispatcher, join } = await setup();
    const full = await join(minerA, 100, 1);
    full.serve((assign) => {
      full.fail(assign, 'no_capacity', 'no free slot', true, 0);
      // It says a slot is free again right after: a node that would refuse forever.
      setTimeout(() => full.heartbeat(1), 20);
    });
    const error = await rejection(dispatcher.dispatch(job(), budget({ maxRetries: 0 })));
    expect(error).toMatchObject({ code: 'no_node_available', status: 503 });
    expect(full.received.filter((m) => m.type === 'job.assign')).toHaveLength(2);
  });

  it('keeps offering cold jobs to a node whose pod load was refused as busy, not to one that cannot load it', async () => {
    const { dispatcher, hub, join, lines } = await setup();
    const peer = await join(minerA, 100);
    honest(peer);
    peer.send(testCapabilities({ warmPods: [], slots: { total: 2, free: 2 } }));
    await waitFor(() => hub.session(minerA.address)?.warmPods.size === 0, 'the pod cold');
    const failures = () => lines.filter((l) => l.msg === 'pod failed to load').length;
    // Its memory held by pods running jobs: it may load the pod later.
    peer.send({
      type: 'pod.failed',
      podId: pod.podId,
      code: 'no_capacity',
      message: 'memory held by busy pods',
    });
    await waitFor(() => failures() === 1, 'the busy refusal');
    expect(await dispatcher.dispatch(job(), budget())).toMatchObject({ node: minerA.address });
    peer.send({ type: 'pod.failed', podId: pod.podId, code: 'pod_load_failed', message: 'bad GGUF' });
    await waitFor(() => failures() === 2, 'the failure');
    await expect(dispatcher.dispatch(job(), budget())).rejects.toMatchObject({ code: 'no_node_available' });
  });

  it("pauses a rate-limited node as long as it asks (its upstream's Retry-After), within bounds", async () => {
    const { dispatcher, scheduler, join } = await setup({ suspension: { baseMs: 30_000, maxMs: 60_000 } });
    const limited = await join(minerA, 100);
    let asked = 5_000;
    limited.serve((assign) => limited.fail(assign, 'rate_limited', 'slow down', true, 2, asked));
    honest(await join(minerB, 10));
    // Asked for nothing, the least pause; then, the second pause in a row being two seconds, what it asks
    // for, up to the longest suspension.
    for (const [ask, expected] of [
      [0, RATE_LIMITED_PAUSE_MS],
      [5_000, 5_000],
      [86_400_000, 60_000],
    ] as const) {
      asked = ask;
      scheduler.unsuspend(minerA.address);
      const before = Date.now();
      expect(await dispatcher.dispatch(job(), budget({ maxRetries: 0 }))).toMatchObject({
        node: minerB.address,
      });
      const until = scheduler.suspendedUntil(minerA.address) ?? 0;
      expect(until, `asked ${ask}`).toBeGreaterThanOrEqual(before + expected);
      expect(until, `asked ${ask}`).toBeLessThanOrEqual(Date.now() + expected);
      expect(scheduler.isPaused(minerA.address)).toBe(true);
    }
  });

  it('doubles the pause of a node that stays rate limited with no job served, and starts over once it serves', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const limited = await join(minerA, 100);
    const held: JobAssign[] = [];
    let mode: 'hold' | 'refuse' | 'serve' = 'hold';
    limited.serve(async (assign) => {
      if (mode === 'hold') held.push(assign);
      else if (mode === 'refuse') limited.fail(assign, 'rate_limited', 'slow down', true, 2);
      else await limited.result(assign, 'served');
    });
    honest(await join(minerB, 10));
    const pausedFor = () => (scheduler.suspendedUntil(minerA.address) ?? 0) - Date.now();
    // Two jobs sent before the node says it is limited: the second refusal was sent before the pause, so
    // it does not count as another pause in a row.
    const early = [dispatcher.dispatch(job(), budget()), dispatcher.dispatch(job(), budget())];
    await waitFor(() => held.length === 2, 'both jobs held');
    for (const assign of held) limited.fail(assign, 'rate_limited', 'slow down', true, 2);
    expect(await Promise.all(early)).toMatchObject([{ node: minerB.address }, { node: minerB.address }]);
    expect(pausedFor()).toBeLessThanOrEqual(RATE_LIMITED_PAUSE_MS);
    mode = 'refuse';
    for (const expected of [2, 4, 8].map((n) => n * RATE_LIMITED_PAUSE_MS)) {
      scheduler.unsuspend(minerA.address);
      expect(await dispatcher.dispatch(job(), budget({ maxRetries: 0 }))).toMatchObject({
        node: minerB.address,
      });
      expect(pausedFor()).toBeGreaterThan(expected - RATE_LIMITED_PAUSE_MS);
      expect(pausedFor()).toBeLessThanOrEqual(expected);
    }
    mode = 'serve';
    scheduler.unsuspend(minerA.address);
    expect(await dispatcher.dispatch(job(), budget())).toMatchObject({ node: minerA.address });
    mode = 'refuse';
    expect(await dispatcher.dispatch(job(), budget())).toMatchObject({ node: minerB.address });
    expect(pausedFor()).toBeLessThanOrEqual(RATE_LIMITED_PAUSE_MS);
    expect(scheduler.isPaused(minerA.address)).toBe(true);
  });

  it('suspends a paused node that then fails for at least the rest of its pause', async () => {
    const { dispatcher, scheduler, join } = await setup({ suspension: { baseMs: 1_000, maxMs: 600_000 } });
    const limited = await join(minerA, 100);
    const held: JobAssign[] = [];
    limited.serve((assign) => {
      held.push(assign);
    });
    honest(await join(minerB, 10));
    const jobs = [dispatcher.dispatch(job(), budget()), dispatcher.dispatch(job(), budget())];
    await waitFor(() => held.length === 2, 'both jobs held');
    limited.fail(held[0] as JobAssign, 'rate_limited', 'quota spent', true, 2, 120_000);
    await jobs[0];
    const paused = scheduler.suspendedUntil(minerA.address) ?? 0;
    limited.fail(held[1] as JobAssign, 'node_failed', 'engine crashed', true);
    await jobs[1];
    expect(scheduler.isPaused(minerA.address)).toBe(false);
    expect(scheduler.suspendedUntil(minerA.address)).toBeGreaterThanOrEqual(paused - 5);
  });

  it('waits for the only node while it is paused as rate limited, and asks it again when the pause ends', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const limited = await join(minerA, 100);
    const assigned: number[] = [];
    limited.serve(async (assign) => {
      assigned.push(Date.now());
      if (assigned.length === 1) return limited.fail(assign, 'rate_limited', 'Model is overloaded', true, 2);
      await limited.result(assign, 'served');
    });
    const running = dispatcher.dispatch(job(), budget({ maxRetries: 0 }));
    await waitFor(() => scheduler.isPaused(minerA.address), 'paused');
    // Before, the paused node counted as gone: the job failed at once with 503 no_node_available.
    expect(dispatcher.stats().queued).toBe(1);
    const outcome = await running;
    expect(outcome).toMatchObject({ node: minerA.address, attempts: 2 });
    expect(outcome.result.output).toBe('served');
    expect((assigned[1] ?? 0) - (assigned[0] ?? 0)).toBeGreaterThanOrEqual(RATE_LIMITED_PAUSE_MS - 5);
    expect(dispatcher.stats().attempts).toMatchObject({ busy: 1, succeeded: 1, node_fault: 0 });
  });

  it('answers 503 with a Retry-After at once when the only node is paused past the time a job may wait', async () => {
    const { dispatcher, scheduler, join } = await setup({ maxQueueMs: 300 });
    const limited = await join(minerA, 100);
    limited.serve((assign) => limited.fail(assign, 'rate_limited', 'quota spent', true, 2, 20_000));
    const started = Date.now();
    const error = await rejection(dispatcher.dispatch(job(), budget()));
    expect(error).toMatchObject({ code: 'no_node_available', status: 503, retryAfterSeconds: 20 });
    expect(Date.now() - started).toBeLessThan(20_000);
    // The next job is not sent to it either, and says when to come back.
    const next = await rejection(dispatcher.dispatch(job(), budget()));
    expect(next).toMatchObject({ code: 'no_node_available' });
    expect(next.retryAfterSeconds).toBeGreaterThanOrEqual(19);
    expect(limited.received.filter((m) => m.type === 'job.assign')).toHaveLength(1);
    expect(scheduler.isPaused(minerA.address)).toBe(true);
  });

  it('asks a rate-limited node about a job no more than twice', async () => {
    const { dispatcher, join } = await setup();
    const limited = await join(minerA, 100);
    limited.serve((assign) => limited.fail(assign, 'rate_limited', 'Model is overloaded', true, 2));
    const error = await rejection(dispatcher.dispatch(job(), budget({ maxRetries: 0 })));
    expect(error).toMatchObject({ code: 'no_node_available', status: 503 });
    expect(error.retryAfterSeconds).toBeUndefined();
    expect(limited.received.filter((m) => m.type === 'job.assign')).toHaveLength(2);
  });
});
