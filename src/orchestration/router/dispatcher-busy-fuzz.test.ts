// Many jobs at once over three scripted nodes that, at random (seeded), serve, refuse as full, draining or
// rate limited (asking for a wait or not), fail, or call the request invalid: whatever they do, every job
// ends (served or refused with a code the API documents) before its deadline, never spends more retries
// than its budget on failures, is not sent to a node more than twice, and nothing is left waiting or
// counted running. NEURINO_FUZZ_SEED=N draws another case (the order frames arrive in varies its course).
import type { Address, Hex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { isNeurinoError } from '../../protocol/errors.ts';
import type { JobAssign, JobCancel } from '../../protocol/messages/jobs.ts';
import { mulberry32 } from '../../protocol/mulberry32.ts';
import { classifyFailure } from './attempt-failure.ts';
import { budget, closeRigs, job, minerA, minerB, minerC, setup } from './testing/dispatcher-rig.ts';
import type { MinerPeer } from './testing/miner-peer.ts';

afterEach(closeRigs);

// Draws where most jobs are served, and one where all three nodes are soon suspended at once.
const SEEDS =
  process.env.NEURINO_FUZZ_SEED === undefined
    ? [5, 13, 0x5eed_b05e]
    : [Number(process.env.NEURINO_FUZZ_SEED)];
const JOBS = 80;
const SLOTS = 2;
/** Codes a dispatch may end with here; anything else is a bug. */
const ENDINGS = new Set([
  'no_node_available',
  'no_capacity',
  'retries_exhausted',
  'invalid_request',
  'deadline_exceeded',
]);

type Behaviour = 'serve' | 'full' | 'draining' | 'limited' | 'fail' | 'invalid';
const BEHAVIOURS: ReadonlyArray<[Behaviour, number]> = [
  ['serve', 0.42],
  ['full', 0.2],
  ['draining', 0.06],
  ['limited', 0.12],
  ['fail', 0.1],
  ['invalid', 0.1],
];

function draw(random: () => number): Behaviour {
  let x = random();
  for (const [behaviour, weight] of BEHAVIOURS) {
    x -= weight;
    if (x < 0) return behaviour;
  }
  return 'serve';
}

/** A node that answers each assignment as `random` says, and each cancel as a real miner does. */
function scripted(peer: MinerPeer, random: () => number): void {
  const held = new Map<Hex, JobAssign>();
  const later = (ms: number, act: () => unknown) => setTimeout(() => void act(), ms);
  const loop = async () => {
    for (;;) {
      const message = (await peer.nextOf(['job.assign', 'job.cancel'])) as JobAssign | JobCancel;
      if (message.type === 'job.cancel') {
        if (held.delete(message.attemptId)) {
          peer.fail({ attemptId: message.attemptId } as JobAssign, 'job_cancelled', 'cancelled', false);
        }
        continue;
      }
      const assign = message;
      const free = () => SLOTS - held.size;
      const delay = Math.floor(random() * 40);
      switch (draw(random)) {
        case 'serve':
          held.set(assign.attemptId, assign);
          peer.accept(assign);
          later(delay, async () => {
            if (held.delete(assign.attemptId)) await peer.result(assign, 'served');
          });
          break;
        case 'full':
          // Its slots held by work of its own for a while: it says so, then that a slot is free again.
          peer.fail(assign, 'no_capacity', 'no free slot', true, 0);
          later(delay, () => peer.heartbeat(free()));
          break;
        case 'draining':
          peer.fail(assign, 'node_draining', 'draining', true, free());
          break;
        case 'limited':
          peer.fail(
            assign,
            'rate_limited',
            'slow down',
            true,
            free(),
            random() < 0.5 ? undefined : delay * 10,
          );
          break;
        case 'fail':
          held.set(assign.attemptId, assign);
          later(delay, () => held.delete(assign.attemptId) && peer.fail(assign, 'node_failed', 'oops', true));
          break;
        case 'invalid':
          peer.fail(assign, 'invalid_request', 'no such parameter', false, free());
          break;
      }
    }
  };
  void loop().catch(() => {});
}

describe('Dispatcher under random busy, failing and refusing nodes', () => {
  it.each(SEEDS)(
    'ends every job within its budget and leaves nothing waiting or running (seed %i)',
    async (seed) => {
      const random = mulberry32(seed);
      const { dispatcher, hub, join } = await setup({
        maxQueueMs: 3_000,
        acceptTimeoutMs: 2_000,
        suspension: { baseMs: 100, maxMs: 400 },
      });
      const nodes = [minerA, minerB, minerC];
      for (const [i, account] of nodes.entries()) scripted(await join(account, 10 * (i + 1), SLOTS), random);

      const runs = Array.from({ length: JOBS }, async () => {
        const maxRetries = Math.floor(random() * 3);
        const deadlineAt = Date.now() + 4_000 + Math.floor(random() * 2_000);
        const sent = new Map<Address, number>();
        let failures = 0;
        const started = Date.now();
        try {
          const served = await dispatcher.dispatch(job(), budget({ maxRetries, deadlineAt }), {
            onAttempt: ({ node }) => sent.set(node, (sent.get(node) ?? 0) + 1),
            onAttemptEnd: ({ error }) => {
              if (error !== undefined && classifyFailure(error) !== 'busy') failures++;
            },
          });
          return { ok: true as const, served, sent, failures, maxRetries, deadlineAt, started };
        } catch (error) {
          if (!isNeurinoError(error)) throw error;
          return { ok: false as const, code: error.code, sent, failures, maxRetries, deadlineAt, started };
        } finally {
          for (const [node, times] of sent) expect(times, `job sent to ${node}`).toBeLessThanOrEqual(2);
        }
      });
      const ended = await Promise.all(runs);
      const finishedAt = Date.now();

      for (const run of ended) {
        // Failures beyond the budget: one per attempt allowed, and the last one ends the job.
        expect(run.failures).toBeLessThanOrEqual(run.maxRetries + 1);
        if (!run.ok) expect(ENDINGS, `ended with ${run.code}`).toContain(run.code);
        expect(run.started).toBeLessThanOrEqual(run.deadlineAt);
      }
      expect(finishedAt).toBeLessThan(Math.max(...ended.map((run) => run.deadlineAt)) + 1_000);
      // How many depends on the draw (all three nodes suspended at once fails the jobs waiting then).
      expect(ended.some((run) => run.ok)).toBe(true);
      expect(dispatcher.stats()).toMatchObject({ inFlight: 0, queued: 0 });
      for (const account of nodes) expect(hub.session(account.address)?.inFlight).toBe(0);
    },
  );
});
