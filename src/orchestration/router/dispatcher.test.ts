import { type Address, type Hex, recoverAddress, zeroAddress } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import { attemptIdFor } from '../../protocol/ids.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { hashReceipt, receiptDigest, verifyReceipt } from '../../protocol/receipt.ts';
import { SAMPLE_FRONTEND, SAMPLE_PAYER } from '../../protocol/testing/samples.ts';
import { computeUnits } from '../../protocol/units.ts';
import { PAID_CANCEL_STOP_MS } from './attempt-runner.ts';
import { CancelledAfterWork } from './cancelled-after-work.ts';
import {
  atTestEnd,
  budget,
  closeRigs,
  domain,
  forger,
  honest,
  job,
  minerA,
  minerB,
  minerC,
  pod,
  rejection,
  setup,
} from './testing/dispatcher-rig.ts';
import { MinerPeer, testCapabilities } from './testing/miner-peer.ts';
import { waitFor } from './testing/wait-for.ts';

afterEach(closeRigs);

/** A dispatcher with one node of one slot, whose assignments wait in `pending` until the test answers them. */
async function oneSlotHeld() {
  const { dispatcher, join, hub } = await setup();
  const peer = await join(minerA, 10, 1);
  const pending: JobAssign[] = [];
  peer.serve((assign) => {
    pending.push(assign);
  });
  return { dispatcher, peer, pending, join, hub };
}

describe('Dispatcher', () => {
  it('runs a job on a node and returns its verified, node-signed receipt', async () => {
    const { dispatcher, join } = await setup();
    const peer = await join(minerA, 10);
    honest(peer);
    const theJob = job({ frontend: SAMPLE_FRONTEND });
    const attempts: Address[] = [];
    const outcome = await dispatcher.dispatch(theJob, budget(), { onAttempt: (a) => attempts.push(a.node) });
    expect(outcome).toMatchObject({
      node: minerA.address,
      attempts: 1,
      attemptId: attemptIdFor(theJob.jobId, 0),
    });
    expect(outcome.result.output).toEqual({ text: 'hello' });
    // Metered by the peer as a miner does: the milliseconds since the assignment arrived (at least 1).
    expect(outcome.result.gpuMs).toBeGreaterThanOrEqual(1);
    const units = computeUnits(outcome.result.gpuMs, 512);
    expect(outcome.receipt).toMatchObject({
      jobId: theJob.jobId,
      podId: pod.podId,
      node: minerA.address,
      frontend: SAMPLE_FRONTEND,
      payer: SAMPLE_PAYER,
      computeUnits: units,
      price: units * 3n,
      inputTokens: 3,
      outputTokens: 5,
    });
    expect(await verifyReceipt(domain, outcome.receipt, outcome.result.signature, minerA.address)).toBe(true);
    // The hashes computed while checking the node's signature travel with the outcome.
    expect(outcome.receiptHashes).toEqual({
      structHash: hashReceipt(outcome.receipt),
      digest: receiptDigest(domain, outcome.receipt),
    });
    expect(attempts).toEqual([minerA.address]);
    expect(dispatcher.stats()).toEqual({
      inFlight: 0,
      queued: 0,
      attempts: { succeeded: 1, node_fault: 0, refused: 0, busy: 0, cannot_load: 0, final: 0 },
    });
  });

  it('sends the assignment the job describes, with the zero frontend left out', async () => {
    const { dispatcher, join } = await setup();
    const peer = await join(minerA, 10);
    let seen: JobAssign | undefined;
    peer.serve(async (assign) => {
      seen = assign;
      await peer.result(assign, 'ok');
    });
    const theJob = job({ kind: 'generic', input: { n: 1 } });
    const deadlineAt = Date.now() + 20_000;
    const outcome = await dispatcher.dispatch(theJob, budget({ deadlineAt }));
    expect(seen).toMatchObject({
      jobId: theJob.jobId,
      kind: 'generic',
      input: { n: 1 },
      deadlineAt,
      pricePerUnit: 3n,
    });
    expect(seen?.frontend).toBeUndefined();
    expect(outcome.receipt.frontend).toBe(zeroAddress);
  });

  it('relays streamed chunks in order', async () => {
    const { dispatcher, join } = await setup();
    honest(await join(minerA, 10), ['Hel', 'lo', ', ', 'world']);
    const deltas: string[] = [];
    const outcome = await dispatcher.dispatch(job({ stream: true }), budget(), {
      onChunk: ({ delta }) => deltas.push(delta),
    });
    expect(deltas).toEqual(['Hel', 'lo', ', ', 'world']);
    expect(outcome.result.output).toEqual({ text: 'Hello, world' });
  });

  it('retries on the second node when the first drops the socket mid-job, with a new attempt id', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const first = await join(minerA, 100);
    const second = await join(minerB, 10);
    first.serve((assign) => {
      first.accept(assign);
      first.terminate();
    });
    honest(second);
    const theJob = job();
    const ends: Array<{ node: Address; attemptId: Hex; code: string | undefined }> = [];
    const outcome = await dispatcher.dispatch(theJob, budget(), {
      onAttemptEnd: (a) => ends.push({ node: a.node, attemptId: a.attemptId, code: a.error?.code }),
    });
    expect(outcome).toMatchObject({
      node: minerB.address,
      attempts: 2,
      attemptId: attemptIdFor(theJob.jobId, 1),
    });
    expect(ends).toEqual([
      { node: minerA.address, attemptId: attemptIdFor(theJob.jobId, 0), code: 'node_disconnected' },
      { node: minerB.address, attemptId: attemptIdFor(theJob.jobId, 1), code: undefined },
    ]);
    expect(scheduler.isSuspended(minerA.address)).toBe(true);
    expect(dispatcher.stats().attempts).toMatchObject({ succeeded: 1, node_fault: 1 });
  });

  it('passes on a node signature with a bare recovery bit (v 0/1) as v 27/28, the form ecrecover takes', async () => {
    const { dispatcher, join } = await setup();
    const peer = await join(minerA, 10);
    const bareV = (sig: Hex): Hex => `${sig.slice(0, -2)}0${Number.parseInt(sig.slice(-2), 16) - 27}` as Hex;
    let sent: Hex | undefined;
    peer.serve(async (assign) => {
      const result = await peer.result(assign, 'bare v', {
        tamper: (r) => ({ ...r, signature: bareV(r.signature) }),
      });
      sent = result.signature;
    });
    const outcome = await dispatcher.dispatch(job(), budget());
    expect(sent?.slice(-2)).toMatch(/^0[01]$/);
    expect(outcome.result.signature).toBe(`${sent?.slice(0, -2)}${sent?.endsWith('00') ? '1b' : '1c'}`);
    expect(
      await recoverAddress({ hash: outcome.receiptHashes.digest, signature: outcome.result.signature }),
    ).toBe(minerA.address);
  });

  it('counts a result whose receipt is not signed by the node as a node failure and retries', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const cheat = await join(minerA, 100);
    cheat.serve((assign) => cheat.result(assign, 'forged', { signer: forger }));
    honest(await join(minerB, 10));
    const errors: string[] = [];
    const outcome = await dispatcher.dispatch(job(), budget(), {
      onAttemptEnd: (a) => a.error && errors.push(`${a.error.code}: ${a.error.message}`),
    });
    expect(outcome.node).toBe(minerB.address);
    expect(errors).toEqual(['bad_result: receipt is not signed by the node']);
    expect(scheduler.isSuspended(minerA.address)).toBe(true);
  });

  it('refuses metering beyond the attempt: GPU time it did not take, memory the node lacks; then retries', async () => {
    const { dispatcher, join } = await setup();
    // Signed honestly over inflated numbers: the price (and the caller's charge) follows them.
    const slowClock = await join(minerA, 100);
    slowClock.serve((assign) => slowClock.result(assign, 'quick', { gpuMs: 60_000 }));
    const bigMemory = await join(minerC, 50);
    bigMemory.serve((assign) => bigMemory.result(assign, 'quick', { vramMiB: 1_000_000 }));
    honest(await join(minerB, 10));
    const errors: string[] = [];
    const outcome = await dispatcher.dispatch(job(), budget(), {
      onAttemptEnd: (a) => a.error && errors.push(`${a.error.code}: ${a.error.message}`),
    });
    expect(outcome).toMatchObject({ node: minerB.address, attempts: 3 });
    expect(outcome.result.gpuMs).toBeLessThan(60_000);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(
      /^bad_result: gpuMs 60000 is more than the attempt took \(at most \d+ ms as the router saw it\)$/,
    );
    expect(errors[1]).toBe("bad_result: vramMiB 1000000 is more than the node's 8192 MiB");
  });

  it('refuses a result whose hash does not match its output, and chunks out of order, then retries', async () => {
    const { dispatcher, join } = await setup();
    const swapper = await join(minerA, 100);
    swapper.serve((assign) =>
      swapper.result(assign, 'real', { tamper: (r) => ({ ...r, output: 'swapped' }) }),
    );
    const skipper = await join(minerC, 50);
    skipper.serve((assign) => skipper.chunk(assign, 1, 'skipped the first'));
    honest(await join(minerB, 10), ['ok']);
    const errors: string[] = [];
    const deltas: string[] = [];
    const outcome = await dispatcher.dispatch(job({ stream: true }), budget(), {
      onChunk: ({ delta }) => deltas.push(delta),
      onAttemptEnd: (a) => a.error && errors.push(`${a.error.code}: ${a.error.message}`),
    });
    expect(outcome).toMatchObject({ node: minerB.address, attempts: 3 });
    expect(errors).toEqual([
      'bad_result: resultHash does not match the output',
      'bad_result: chunk 1 arrived where 0 was expected',
    ]);
    expect(deltas).toEqual(['ok']);
  });

  it('answers no_node_available (503) when no node is connected', async () => {
    const { dispatcher } = await setup();
    const none = await rejection(dispatcher.dispatch(job(), budget()));
    expect([none.code, none.status, none.retryable]).toEqual(['no_node_available', 503, true]);
    expect(none.message).toBe('No node can serve tiny right now');
  });

  it('answers no_node_available when the only node lacks the memory the pod needs', async () => {
    const { dispatcher, scheduler, url } = await setup();
    const weak = await MinerPeer.join(
      { url, account: minerA, domain },
      testCapabilities({ ramMiB: 128, warmPods: [pod.podId] }),
    );
    atTestEnd(async () => weak.terminate());
    await waitFor(() => scheduler.stats().nodes === 1);
    const error = await rejection(dispatcher.dispatch(job(), budget()));
    expect(error.code).toBe('no_node_available');
  });

  it('answers no_node_available after the only node failed, naming the last error', async () => {
    const { dispatcher, join } = await setup();
    const peer = await join(minerA, 10);
    peer.serve((assign) => peer.fail(assign, 'node_failed', 'GPU fell off the bus', true));
    const error = await rejection(dispatcher.dispatch(job(), budget()));
    expect(error.code).toBe('no_node_available');
    expect(error.message).toMatch(/after 1 failed attempt\(s\); last: GPU fell off the bus/);
    expect(error.details).toMatchObject({ attempts: 1, lastCode: 'node_failed' });
  });

  it('stops at the retry budget with retries_exhausted (502)', async () => {
    const { dispatcher, join } = await setup();
    for (const [account, efficiency] of [
      [minerA, 30],
      [minerB, 20],
      [minerC, 10],
    ] as const) {
      const peer = await join(account, efficiency);
      peer.serve((assign) => peer.fail(assign, 'node_failed', `broken ${efficiency}`, true));
    }
    const error = await rejection(dispatcher.dispatch(job(), budget({ maxRetries: 1 })));
    expect([error.code, error.status]).toEqual(['retries_exhausted', 502]);
    expect(error.details).toEqual({ attempts: 2, lastCode: 'node_failed' });
    expect(error.message).toMatch(/last: broken 20/);
  });

  it('ends with deadline_exceeded (504) and cancels the attempt on the node', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const slow = await join(minerA, 10);
    slow.serve((assign) => slow.accept(assign));
    const theJob = job();
    const error = await rejection(dispatcher.dispatch(theJob, budget({ deadlineAt: Date.now() + 150 })));
    expect([error.code, error.status, error.retryable]).toEqual(['deadline_exceeded', 504, false]);
    expect(await slow.next('job.cancel')).toMatchObject({ attemptId: attemptIdFor(theJob.jobId, 0) });
    // Running out of the caller's time is not the node's fault.
    expect(scheduler.isSuspended(minerA.address)).toBe(false);
    const late = await rejection(dispatcher.dispatch(job(), budget({ deadlineAt: Date.now() - 1 })));
    expect(late.code).toBe('deadline_exceeded');
  });

  it('sends the next job to a node whose cancelled attempt still holds its slot only once the node reports its end', async () => {
    const { dispatcher, join } = await setup();
    const peer = await join(minerA, 10, 1);
    const assigned: JobAssign[] = [];
    let busy = false;
    peer.serve(async (assign) => {
      assigned.push(assign);
      // As a real miner: its one slot is taken until the job ends, and a job sent meanwhile is refused.
      if (busy) return peer.fail(assign, 'no_capacity', 'no free slot', true);
      busy = true;
      peer.accept(assign);
      if (assigned.length > 1) {
        busy = false;
        return peer.result(assign, 'second');
      }
      // The first runs past its deadline; stopping it takes the node a while (a prompt batch to finish).
      await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId);
      await new Promise((resolve) => setTimeout(resolve, 150));
      busy = false;
      peer.fail(assign, 'job_cancelled', 'cancelled by the router', false);
    });
    const first = await rejection(dispatcher.dispatch(job(), budget({ deadlineAt: Date.now() + 150 })));
    expect(first.code).toBe('deadline_exceeded');
    // Sent at once, it waits for the slot instead of being refused by the node.
    const second = await dispatcher.dispatch(job(), budget({ maxRetries: 0 }));
    expect(second.result.output).toBe('second');
    expect(assigned).toHaveLength(2);
  });

  it('charges the work done when the deadline passes after streamed output reached the caller', async () => {
    const { dispatcher, scheduler, join } = await setup({ paidCancelGraceMs: 5_000 });
    const peer = await join(minerA, 10);
    const partial = { text: 'Once', finishReason: 'cancelled' };
    peer.serve(async (assign) => {
      peer.accept(assign);
      peer.chunk(assign, 0, 'Once');
      await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId && m.partial === true);
      await peer.result(assign, partial, { usage: { inputTokens: 3, outputTokens: 1 } });
    });
    const chunks: string[] = [];
    const theJob = job({ stream: true });
    const error = await rejection(
      dispatcher.dispatch(theJob, budget({ deadlineAt: Date.now() + 150 }), {
        onChunk: ({ delta }) => chunks.push(delta),
      }),
    );
    // Still a 504 to the caller (in the stream's error event), but the node's work is paid for.
    expect(error).toBeInstanceOf(CancelledAfterWork);
    expect([error.code, error.status]).toEqual(['deadline_exceeded', 504]);
    const { outcome } = error as CancelledAfterWork;
    expect(outcome.result.output).toEqual(partial);
    expect(outcome.receipt).toMatchObject({ jobId: theJob.jobId, outputTokens: 1 });
    expect(chunks).toEqual(['Once']);
    expect(scheduler.isSuspended(minerA.address)).toBe(false);
  });

  it('keeps a deadline free when no output reached the caller, or when the node hands over nothing', async () => {
    const { dispatcher, join, hub } = await setup({ paidCancelGraceMs: 200 });
    const peer = await join(minerA, 10);
    let withChunk = false;
    const assigned: JobAssign[] = [];
    peer.serve(async (assign) => {
      assigned.push(assign);
      peer.accept(assign);
      if (withChunk) peer.chunk(assign, 0, 'Once');
    });
    // A stream with nothing relayed yet: the plain cancel, no work asked for.
    const silent = job({ stream: true });
    const before = await rejection(dispatcher.dispatch(silent, budget({ deadlineAt: Date.now() + 150 })));
    expect(before.code).toBe('deadline_exceeded');
    expect(before).not.toBeInstanceOf(CancelledAfterWork);
    expect(await peer.next('job.cancel')).toMatchObject({ attemptId: attemptIdFor(silent.jobId, 0) });
    // Output relayed, but the node never answers the request for its work within the grace.
    withChunk = true;
    const flowing = job({ stream: true });
    const after = await rejection(
      dispatcher.dispatch(flowing, budget({ deadlineAt: Date.now() + 150 }), { onChunk: () => {} }),
    );
    expect(after.code).toBe('deadline_exceeded');
    expect(after).not.toBeInstanceOf(CancelledAfterWork);
    expect(await peer.next('job.cancel')).toMatchObject({
      attemptId: attemptIdFor(flowing.jobId, 0),
      partial: true,
    });
    // Both still run on the node as far as the router knows: their slots are free once it says they ended.
    const session = hub.session(minerA.address);
    expect(session?.freeSlots).toBe(0);
    const [first, second] = assigned as [JobAssign, JobAssign];
    peer.fail(first, 'job_cancelled', 'cancelled by the router', false);
    await peer.result(second, { text: 'Once', finishReason: 'cancelled' });
    await waitFor(() => session?.freeSlots === 2, 'both slots freed by the late answers');
  });

  it('fails a node that does not acknowledge in time as node_timeout and moves on', async () => {
    const { dispatcher, join } = await setup({ acceptTimeoutMs: 100 });
    await join(minerA, 100);
    honest(await join(minerB, 10));
    const codes: string[] = [];
    const outcome = await dispatcher.dispatch(job(), budget(), {
      onAttemptEnd: (a) => a.error && codes.push(a.error.code),
    });
    expect(outcome.node).toBe(minerB.address);
    expect(codes).toEqual(['node_timeout']);
  });

  it('cancels the running attempt when the caller aborts, asking the node for the work done', async () => {
    const { dispatcher, scheduler, join } = await setup({ paidCancelGraceMs: 200 });
    const peer = await join(minerA, 10);
    const controller = new AbortController();
    peer.serve((assign) => {
      peer.accept(assign);
      controller.abort();
    });
    const theJob = job();
    const error = await rejection(dispatcher.dispatch(theJob, budget(), { signal: controller.signal }));
    // The node never answered the cancel within the grace: nothing to pay, the slot is free again.
    expect(error.code).toBe('job_cancelled');
    expect(error).not.toBeInstanceOf(CancelledAfterWork);
    expect(await peer.next('job.cancel')).toMatchObject({
      attemptId: attemptIdFor(theJob.jobId, 0),
      partial: true,
    });
    expect(scheduler.isSuspended(minerA.address)).toBe(false);
    expect(dispatcher.stats().inFlight).toBe(0);
    const before = await rejection(dispatcher.dispatch(job(), budget(), { signal: AbortSignal.abort() }));
    expect(before.code).toBe('job_cancelled');
  });

  it('hands over a verified result of the work done when the node answers the cancel with one', async () => {
    const { dispatcher, scheduler, join } = await setup({ paidCancelGraceMs: 5_000 });
    const peer = await join(minerA, 10);
    const controller = new AbortController();
    const partial = { text: 'Once up', finishReason: 'cancelled' };
    peer.serve(async (assign) => {
      peer.accept(assign);
      peer.chunk(assign, 0, 'Once');
      await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId && m.partial === true);
      // A chunk after the cancel reaches nobody; the result of the work done is what counts.
      peer.chunk(assign, 1, ' up');
      await peer.result(assign, partial, { usage: { inputTokens: 3, outputTokens: 2 } });
    });
    const chunks: string[] = [];
    const theJob = job({ stream: true });
    const error = await rejection(
      dispatcher.dispatch(theJob, budget(), {
        signal: controller.signal,
        // The caller goes away once it has the first piece.
        onChunk: ({ delta }) => {
          chunks.push(delta);
          controller.abort();
        },
      }),
    );
    expect(error).toBeInstanceOf(CancelledAfterWork);
    expect(error.code).toBe('job_cancelled');
    const { outcome } = error as CancelledAfterWork;
    expect(outcome.result.output).toEqual(partial);
    expect(outcome.receipt).toMatchObject({
      jobId: theJob.jobId,
      node: minerA.address,
      outputTokens: 2,
    });
    expect(await verifyReceipt(domain, outcome.receipt, outcome.result.signature, minerA.address)).toBe(true);
    expect(outcome.receiptHashes.structHash).toBe(hashReceipt(outcome.receipt));
    expect(chunks).toEqual(['Once']);
    expect(scheduler.isSuspended(minerA.address)).toBe(false);
  });

  it("refuses a paid cancel metered past the cancel: the time a node takes to answer is not the caller's", async () => {
    const { dispatcher, join } = await setup({ paidCancelGraceMs: 5_000 });
    const peer = await join(minerA, 10);
    const controller = new AbortController();
    peer.serve(async (assign) => {
      peer.accept(assign);
      controller.abort();
      await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId);
      // Answers well after the cancel, metering all of that time (the peer times from its assignment).
      await new Promise((resolve) => setTimeout(resolve, PAID_CANCEL_STOP_MS + 300));
      await peer.result(assign, { text: 'x', finishReason: 'cancelled' });
    });
    const error = await rejection(dispatcher.dispatch(job(), budget(), { signal: controller.signal }));
    expect(error.code).toBe('job_cancelled');
    expect(error).not.toBeInstanceOf(CancelledAfterWork);
  });

  it('pays nothing for a cancelled attempt the node answers with an error or a result that fails its checks', async () => {
    const { dispatcher, scheduler, join } = await setup({ paidCancelGraceMs: 5_000 });
    const peer = await join(minerA, 10);
    let answer: 'error' | 'forged' = 'error';
    let controller = new AbortController();
    peer.serve(async (assign) => {
      peer.accept(assign);
      controller.abort();
      await peer.next('job.cancel', (m) => m.attemptId === assign.attemptId);
      if (answer === 'error') return peer.fail(assign, 'job_cancelled', 'runtime cannot stop partway', false);
      await peer.result(assign, { text: 'x', finishReason: 'cancelled' }, { signer: minerB });
    });
    for (const kind of ['error', 'forged'] as const) {
      answer = kind;
      controller = new AbortController();
      const error = await rejection(dispatcher.dispatch(job(), budget(), { signal: controller.signal }));
      expect(error.code).toBe('job_cancelled');
      expect(error).not.toBeInstanceOf(CancelledAfterWork);
    }
    expect(scheduler.isSuspended(minerA.address)).toBe(false);
  });

  it("returns a node's refusal of the request as is when no other node can be asked, unsuspended", async () => {
    const { dispatcher, scheduler, join } = await setup();
    const peer = await join(minerA, 100);
    peer.serve((assign) => peer.fail(assign, 'invalid_request', 'prompt is longer than the context', false));
    const error = await rejection(dispatcher.dispatch(job(), budget()));
    expect([error.code, error.status, error.message]).toEqual([
      'invalid_request',
      400,
      'prompt is longer than the context',
    ]);
    expect(scheduler.isSuspended(minerA.address)).toBe(false);
    expect(dispatcher.stats().attempts).toMatchObject({ refused: 1, node_fault: 0 });
  });

  it('asks a second node about a refusal: when it agrees, the refusal stands and nobody is suspended', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const first = await join(minerA, 100);
    const second = await join(minerB, 10);
    for (const peer of [first, second]) {
      peer.serve((assign) => peer.fail(assign, 'unsupported_parameter', `no suffix on ${peer.node}`, false));
    }
    const error = await rejection(dispatcher.dispatch(job(), budget()));
    expect([error.code, error.message]).toEqual(['unsupported_parameter', `no suffix on ${minerA.address}`]);
    expect(second.received.filter((m) => m.type === 'job.assign')).toHaveLength(1);
    expect(scheduler.isSuspended(minerA.address) || scheduler.isSuspended(minerB.address)).toBe(false);
  });

  it('serves a refused job on another node, and suspends a node overruled three times in a row', async () => {
    const { dispatcher, scheduler, join, lines } = await setup();
    const liar = await join(minerA, 100);
    liar.serve((assign) => liar.fail(assign, 'invalid_request', 'no', false));
    honest(await join(minerB, 10));
    for (let i = 1; i <= 3; i++) {
      const served = await dispatcher.dispatch(job(), budget());
      expect([served.node, served.attempts]).toEqual([minerB.address, 2]);
      expect(scheduler.isSuspended(minerA.address), `after ${i}`).toBe(i === 3);
    }
    expect(lines.some((l) => l.msg === 'node refusals overruled by other nodes')).toBe(true);
    // Suspended, the liar is not asked first any more.
    expect((await dispatcher.dispatch(job(), budget())).attempts).toBe(1);
  });

  it('forgets overruled refusals once the node serves a job or another node agrees with it', async () => {
    const { dispatcher, scheduler, join } = await setup();
    const flaky = await join(minerA, 100);
    let refuse = true;
    flaky.serve(async (assign) => {
      if (refuse) return flaky.fail(assign, 'invalid_request', 'no', false);
      flaky.accept(assign);
      await flaky.result(assign, { text: 'ok' });
    });
    honest(await join(minerB, 10));
    for (const round of [0, 1, 2, 3]) {
      refuse = round !== 2;
      await dispatcher.dispatch(job(), budget());
    }
    expect(scheduler.isSuspended(minerA.address)).toBe(false);
  });

  it('asks no second node when the budget has no retry left, or when the others are busy', async () => {
    const { dispatcher, join } = await setup({ maxQueueMs: 5_000 });
    const first = await join(minerA, 100);
    first.serve((assign) => first.fail(assign, 'invalid_request', 'no', false));
    const busy = await join(minerB, 10, 1);
    const held: JobAssign[] = [];
    busy.serve((assign) => held.push(assign));
    expect((await rejection(dispatcher.dispatch(job(), budget({ maxRetries: 0 })))).code).toBe(
      'invalid_request',
    );
    expect(held).toHaveLength(0);
    // B's only slot taken: the refusal stands at once rather than waiting in the queue.
    const occupying = dispatcher.dispatch(job(), budget());
    await waitFor(() => held.length === 1, 'B busy');
    const started = Date.now();
    expect((await rejection(dispatcher.dispatch(job(), budget()))).code).toBe('invalid_request');
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const assign of held) await busy.result(assign, { text: 'late' });
    await occupying;
  });

  it("counts any other failure as the node's, whatever retryable flag it sends: retried and suspended", async () => {
    const { dispatcher, scheduler, join } = await setup();
    const odd = await join(minerA, 100);
    let code = 'node_failed';
    odd.serve((assign) => odd.fail(assign, code, 'upstream said 401', false));
    honest(await join(minerB, 10));
    for (const next of ['node_failed', 'made_up_code', 'schema_violation']) {
      code = next;
      scheduler.unsuspend(minerA.address);
      const served = await dispatcher.dispatch(job(), budget());
      expect(served.node, next).toBe(minerB.address);
    }
    expect(scheduler.isSuspended(minerA.address)).toBe(true);
  });

  it('does not replay a stream on another node once chunks reached the caller', async () => {
    const { dispatcher, join } = await setup();
    const first = await join(minerA, 100);
    first.serve((assign) => {
      first.chunk(assign, 0, 'partial');
      setTimeout(() => first.terminate(), 20);
    });
    const second = await join(minerB, 10);
    honest(second);
    const deltas: string[] = [];
    const error = await rejection(
      dispatcher.dispatch(job({ stream: true }), budget(), { onChunk: ({ delta }) => deltas.push(delta) }),
    );
    expect(error.code).toBe('node_disconnected');
    expect(deltas).toEqual(['partial']);
    expect(second.received.some((m) => m.type === 'job.assign')).toBe(false);
  });

  it('counts the failures of the jobs a node ran when it failed as one: a crash is not a streak', async () => {
    const { dispatcher, scheduler, join } = await setup({ suspension: { baseMs: 10_000, maxMs: 600_000 } });
    const crashing = await join(minerA, 100);
    const held: JobAssign[] = [];
    crashing.serve((assign) => {
      held.push(assign);
    });
    honest(await join(minerB, 10));
    const left = () => (scheduler.suspendedUntil(minerA.address) ?? 0) - Date.now();
    const jobs = [dispatcher.dispatch(job(), budget()), dispatcher.dispatch(job(), budget())];
    await waitFor(() => held.length === 2, 'both jobs on the node');
    for (const assign of held) crashing.fail(assign, 'node_failed', 'engine crashed', true);
    expect(await Promise.all(jobs)).toMatchObject([{ node: minerB.address }, { node: minerB.address }]);
    // One incident: the base suspension, not doubled for the second job it failed.
    expect(left()).toBeGreaterThan(9_000);
    expect(left()).toBeLessThanOrEqual(10_000);
    // Failing again once offered jobs again: the next in a row, twice as long.
    scheduler.unsuspend(minerA.address);
    const third = dispatcher.dispatch(job(), budget());
    await waitFor(() => held.length === 3, 'a third job on the node');
    crashing.fail(held[2] as JobAssign, 'node_failed', 'engine crashed', true);
    expect(await third).toMatchObject({ node: minerB.address });
    expect(left()).toBeGreaterThan(19_000);
    expect(left()).toBeLessThanOrEqual(20_000);
  });

  it('suspends a failing node for a while, then offers it again', async () => {
    const { dispatcher, scheduler, join } = await setup({ suspension: { baseMs: 150, maxMs: 150 } });
    const flaky = await join(minerA, 100);
    let failures = 1;
    flaky.serve(async (assign) => {
      if (failures-- > 0) return flaky.fail(assign, 'node_failed', 'flaky', true);
      await flaky.result(assign, 'back');
    });
    honest(await join(minerB, 10));
    expect((await dispatcher.dispatch(job(), budget())).node).toBe(minerB.address);
    expect(scheduler.isSuspended(minerA.address)).toBe(true);
    expect((await dispatcher.dispatch(job(), budget())).node).toBe(minerB.address);
    await waitFor(() => !scheduler.isSuspended(minerA.address), 'suspension lifted');
    expect((await dispatcher.dispatch(job(), budget())).node).toBe(minerA.address);
  });

  it('retries when heartbeats stop during a job', async () => {
    const { dispatcher, join } = await setup({ heartbeatMs: 150 });
    const silent = await join(minerA, 100);
    silent.serve((assign) => silent.accept(assign));
    const alive = await join(minerB, 10);
    alive.startHeartbeats(30);
    honest(alive);
    const codes: string[] = [];
    const outcome = await dispatcher.dispatch(job(), budget(), {
      onAttemptEnd: (a) => a.error && codes.push(a.error.code),
    });
    expect(outcome.node).toBe(minerB.address);
    expect(codes).toEqual(['node_timeout']);
  });

  it("sends a conversation's next turn to the node that served the last, where its prompt may be cached", async () => {
    const { dispatcher, scheduler, join } = await setup();
    const [slow, fast] = [await join(minerA, 10), await join(minerB, 1_000)];
    honest(slow);
    honest(fast);
    // The first turn goes to the slow node while the fast one sits out.
    scheduler.suspend(minerB.address, 60_000);
    expect((await dispatcher.dispatch(job({ affinity: 'conversation' }), budget())).node).toBe(
      minerA.address,
    );
    scheduler.unsuspend(minerB.address);
    expect((await dispatcher.dispatch(job({ affinity: 'conversation' }), budget())).node).toBe(
      minerA.address,
    );
    // Other jobs go by rank as before.
    expect((await dispatcher.dispatch(job(), budget())).node).toBe(minerB.address);
    expect((await dispatcher.dispatch(job({ affinity: 'another' }), budget())).node).toBe(minerB.address);
    // A conversation whose node is busy goes on elsewhere, and follows that node from then on.
    scheduler.setFreeSlots(minerA.address, 0);
    expect((await dispatcher.dispatch(job({ affinity: 'conversation' }), budget())).node).toBe(
      minerB.address,
    );
    scheduler.setFreeSlots(minerA.address, 2);
    expect((await dispatcher.dispatch(job({ affinity: 'conversation' }), budget())).node).toBe(
      minerB.address,
    );
  });

  it('queues a job while every capable node is busy and runs it when a slot frees', async () => {
    const { dispatcher, peer, pending } = await oneSlotHeld();
    const first = dispatcher.dispatch(job(), budget());
    const second = dispatcher.dispatch(job(), budget());
    await waitFor(() => pending.length === 1 && dispatcher.stats().queued === 1, 'one queued');
    // The autoscaler's view: the pod's jobs, running and waiting; none of another pod.
    expect(dispatcher.demand(pod.podId)).toMatchObject({ running: 1, queued: 1 });
    expect(dispatcher.demand(`0x${'cd'.repeat(32)}`)).toMatchObject({ running: 0, queued: 0 });
    await peer.result(pending[0] as JobAssign, 'one');
    await waitFor(() => pending.length === 2, 'second assigned');
    expect(dispatcher.demand(pod.podId)).toMatchObject({ running: 1, queued: 0 });
    await peer.result(pending[1] as JobAssign, 'two');
    expect((await first).result.output).toBe('one');
    expect((await second).result.output).toBe('two');
    expect(dispatcher.stats().queued).toBe(0);
    expect(dispatcher.demand(pod.podId)).toMatchObject({ running: 0, queued: 0 });
  });

  it("serves waiting payers in turn: one payer's burst does not hold another back", async () => {
    const { dispatcher, peer, pending } = await oneSlotHeld();
    const [busy, patient] = [devAccount(20).address, devAccount(21).address];
    const runs = [1, 2, 3].map(() => dispatcher.dispatch(job({ payer: busy }), budget()));
    await waitFor(() => pending.length === 1 && dispatcher.stats().queued === 2, 'a burst queued');
    const other = dispatcher.dispatch(job({ payer: patient }), budget());
    await waitFor(() => dispatcher.stats().queued === 3, 'the other payer queued behind it');
    const served: Address[] = [];
    for (let i = 0; i < 4; i++) {
      await waitFor(() => pending.length === i + 1, `assignment ${i + 1}`);
      const assign = pending[i] as JobAssign;
      served.push(assign.payer);
      await peer.result(assign, `answer ${i}`);
    }
    // First come first served would give the burst's two waiting jobs the slot before the other payer.
    expect(served).toEqual([busy, patient, busy, busy]);
    await Promise.all([...runs, other]);
    expect(dispatcher.stats().queued).toBe(0);
  });

  it('drains a deep queue one freed slot at a time, payers taking turns', async () => {
    const { dispatcher, peer, pending } = await oneSlotHeld();
    const [many, few] = [devAccount(20).address, devAccount(21).address];
    const runs = [
      ...Array.from({ length: 30 }, () => dispatcher.dispatch(job({ payer: many }), budget())),
      ...Array.from({ length: 10 }, () => dispatcher.dispatch(job({ payer: few }), budget())),
    ];
    await waitFor(() => dispatcher.stats().queued === 39, 'a deep queue');
    for (let i = 0; i < 40; i++) {
      await waitFor(() => pending.length === i + 1, `assignment ${i + 1}`);
      await peer.result(pending[i] as JobAssign, `answer ${i}`);
    }
    await Promise.all(runs);
    // After the first, the few payer's ten jobs alternate with the many payer's until they are done.
    const payers = pending.map((assign) => assign.payer);
    expect(payers.slice(1, 21)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? few : many)));
    expect(payers.slice(21).every((payer) => payer === many)).toBe(true);
    expect(dispatcher.stats().queued).toBe(0);
  });

  it('queues a job rather than send it to a free node that does not host its pod', async () => {
    const { dispatcher, peer: host, pending, join, hub } = await oneSlotHeld();
    // Same runtime, free slots, hosting only another pod: asking it would only cost the caller an attempt.
    const stranger = await join(minerB, 1_000, 4);
    stranger.send(
      testCapabilities({ efficiency: 1_000, warmPods: [], hostedPods: [`0x${'cd'.repeat(32)}`] }),
    );
    await waitFor(() => hub.session(minerB.address)?.warmPods.size === 0, 'its pods announced');
    const strangerJobs: JobAssign[] = [];
    stranger.serve((assign) => {
      strangerJobs.push(assign);
    });
    const first = dispatcher.dispatch(job(), budget());
    const second = dispatcher.dispatch(job(), budget());
    await waitFor(() => pending.length === 1 && dispatcher.stats().queued === 1, 'one queued');
    await host.result(pending[0] as JobAssign, 'one');
    await waitFor(() => pending.length === 2, 'second assigned');
    await host.result(pending[1] as JobAssign, 'two');
    expect([(await first).attempts, (await second).attempts]).toEqual([1, 1]);
    expect(strangerJobs).toEqual([]);
  });

  it('gives up waiting for a busy pod with no_capacity (503)', async () => {
    const { dispatcher, join } = await setup({ maxQueueMs: 100 });
    const peer = await join(minerA, 10, 1);
    peer.serve(() => {});
    void dispatcher.dispatch(job(), budget()).catch(() => {});
    const error = await rejection(dispatcher.dispatch(job(), budget()));
    expect([error.code, error.status]).toEqual(['no_capacity', 503]);
  });

  it('refuses an unknown pod and a malformed budget', async () => {
    const { dispatcher } = await setup();
    expect(
      (await rejection(dispatcher.dispatch(job({ podId: `0x${'00'.repeat(32)}` }), budget()))).code,
    ).toBe('pod_not_found');
    for (const bad of [{ maxRetries: -1 }, { maxRetries: 1.5 }, { deadlineAt: Number.NaN }]) {
      expect((await rejection(dispatcher.dispatch(job(), budget(bad)))).code).toBe('invalid_request');
    }
  });
});
