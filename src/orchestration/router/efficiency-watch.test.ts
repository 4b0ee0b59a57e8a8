// A node that announces a far faster GPU than it has wins the first picks, until the router has timed it
// against a peer: then it is ranked by the efficiency its pace implies, and the operator's log says so.
import { afterEach, describe, expect, it } from 'vitest';
import {
  atTestEnd,
  budget,
  closeRigs,
  domain,
  minerA as honest,
  job,
  minerB as liar,
  minerC as peer,
  pod,
  setup,
} from './testing/dispatcher-rig.ts';
import { MinerPeer, testCapabilities } from './testing/miner-peer.ts';
import { waitFor } from './testing/wait-for.ts';

afterEach(closeRigs);

/**
 * A node of one slot announcing `efficiency`, answering 64 tokens after `delayMs`; `cold`: it never says
 * the pod is warm (each job loads it first, as far as the router knows).
 */
async function join(url: string, account: typeof honest, efficiency: number, delayMs: number, cold = false) {
  const peer = await MinerPeer.join(
    { url, account, domain },
    testCapabilities({ efficiency, warmPods: cold ? [] : [pod.podId], slots: { total: 1, free: 1 } }),
  );
  peer.serve(async (assign) => {
    peer.accept(assign);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    await peer.result(assign, { text: 'hello' }, { usage: { inputTokens: 3, outputTokens: 64 } });
  });
  return peer;
}

/** A dispatcher timing paces after 3 jobs, its log captured, and a way to join nodes to it. */
async function network() {
  const { scheduler, dispatcher, lines, url } = await setup({ paceCheck: { minSamples: 3, refreshMs: 0 } });
  const add = async (account: typeof honest, efficiency: number, delayMs: number, cold = false) => {
    const available = scheduler.stats().available;
    const joined = await join(url, account, efficiency, delayMs, cold);
    atTestEnd(async () => joined.terminate());
    await waitFor(() => scheduler.stats().available === available + 1, 'the node');
  };
  const dispatch = async () => (await dispatcher.dispatch(job(), budget({ maxRetries: 0 }))).node;
  return { scheduler, dispatcher, lines, add, dispatch };
}

describe('EfficiencyWatch in the dispatcher', () => {
  it('ranks a node whose pace belies its announced efficiency by what its pace implies', async () => {
    const { scheduler, lines, add, dispatch } = await network();
    // The liar announces a thousand times the honest node's figure and answers far slower.
    await add(honest, 10, 0);
    await add(liar, 10_000, 60);
    // No node timed yet, the liar is picked first every time: nothing to compare its pace with.
    for (let i = 0; i < 3; i++) expect(await dispatch()).toBe(liar.address);
    expect(scheduler.efficiencyCap(liar.address)).toBeUndefined();
    // Two at once, so the honest node is timed too (three times, then the liar once more).
    for (let i = 0; i < 4; i++) {
      const served = await Promise.all([dispatch(), dispatch()]);
      expect(served.sort()).toEqual([honest.address, liar.address].sort());
    }
    const cap = scheduler.efficiencyCap(liar.address);
    expect(cap).toBeDefined();
    expect(cap).toBeLessThan(10_000 / 4);
    const warning = lines.find((l) => l.level === 40 && l.node === liar.address);
    expect(warning).toMatchObject({ announced: 10_000, podId: pod.podId });
    expect(warning?.msg).toMatch(
      /^node announces 10000 but serves at a pace its peers reach with [\d.]+: ranked by that$/,
    );
    // Later moves of 10 % or more are logged at debug; the scheduler has the last.
    const last = lines.findLast((l) => l.node === liar.address && l.rankedBy !== undefined);
    expect(last?.rankedBy).toBe(Math.round((cap ?? 0) * 100) / 100);
    // Ranked by it, the liar comes after the honest node.
    expect(await dispatch()).toBe(honest.address);
    expect(scheduler.efficiencyCap(honest.address)).toBeUndefined();
  });

  it('ranks a newcomer no higher than the nodes it has timed until it has timed the newcomer too', async () => {
    const { scheduler, add, dispatch } = await network();
    await add(honest, 10, 0);
    await add(peer, 10, 0);
    for (let i = 0; i < 3; i++) await Promise.all([dispatch(), dispatch()]);
    // Announcing a thousand times more, the newcomer is ranked as the timed nodes are, and joined last.
    await add(liar, 10_000, 60);
    expect(scheduler.rankedEfficiency(liar.address)).toBe(10);
    for (let i = 0; i < 3; i++) expect(await dispatch()).not.toBe(liar.address);
    // It serves when the others are busy; timed, its pace gives it away.
    for (let i = 0; i < 3; i++) {
      const served = await Promise.all([dispatch(), dispatch(), dispatch()]);
      expect(served).toContain(liar.address);
    }
    expect(scheduler.efficiencyCap(liar.address)).toBeLessThan(10_000 / 4);
    expect(await dispatch()).not.toBe(liar.address);
  });

  it('does not time a job sent to a node where the pod was cold: its time includes loading the model', async () => {
    const { scheduler, dispatcher, add, dispatch } = await network();
    await add(honest, 10, 0);
    await add(peer, 10, 0);
    // As fast as its peers once loaded, but every job of its loads the model first (60 ms here).
    await add(liar, 10, 60, true);
    for (let i = 0; i < 5; i++) {
      const served = await Promise.all([dispatch(), dispatch(), dispatch()]);
      expect(served).toContain(liar.address);
    }
    expect(dispatcher.pacesOf(liar.address)).toEqual([]);
    expect(dispatcher.pacesOf(honest.address)).toHaveLength(1);
    expect(scheduler.efficiencyCap(liar.address)).toBeUndefined();
  });
});
