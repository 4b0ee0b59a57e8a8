import { describe, expect, it } from 'vitest';
import { PodRecovery, type RecoverablePod } from './pod-recovery.ts';

/** A pod whose server comes back after `failures` tries. */
function fakePod(failures: number) {
  const events: string[] = [];
  let left = failures;
  const pod: RecoverablePod = {
    podId: '0xpod',
    unload: async () => {
      events.push('unload');
    },
    load: async () => {
      events.push('load');
      if (left-- > 0) throw new Error('connect ECONNREFUSED');
    },
  };
  return { pod, events };
}

const until = async (test: () => boolean) => {
  for (let i = 0; i < 500 && !test(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(test()).toBe(true);
};

describe('PodRecovery', () => {
  it('unloads a pod whose server is gone, then tries it, doubling the wait, until it is back', async () => {
    const { pod, events } = fakePod(2);
    const changes: number[] = [];
    const back: number[] = [];
    const recovery = new PodRecovery({
      isHosted: () => true,
      onChange: () => changes.push(Date.now()),
      onBack: (_pod, downMs) => back.push(downMs),
      retry: { initialMs: 20 },
    });
    const started = Date.now();
    recovery.lost(pod, new Error('gone'));
    expect(recovery.isRecovering(pod)).toBe(true);
    // A second job's failure while it recovers changes nothing.
    recovery.lost(pod, new Error('gone again'));
    await until(() => back.length === 1);
    expect(events).toEqual(['unload', 'load', 'load', 'load']);
    // Cold at once, warm when back: two announcements.
    expect(changes).toHaveLength(2);
    // 20 + 40 + 80 ms of waits before the third try.
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(recovery.isRecovering(pod)).toBe(false);
  });

  it('stops trying a pod no longer hosted, or when stopped', async () => {
    for (const how of ['removed', 'stopped'] as const) {
      const { pod, events } = fakePod(Number.POSITIVE_INFINITY);
      let hosted = true;
      const recovery = new PodRecovery({
        isHosted: () => hosted,
        onChange: () => {},
        retry: { initialMs: 5, maxMs: 5 },
      });
      recovery.lost(pod, new Error('gone'));
      await until(() => events.filter((e) => e === 'load').length >= 2);
      if (how === 'removed') hosted = false;
      else recovery.stop();
      await until(() => !recovery.isRecovering(pod));
      const tries = events.length;
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(events, how).toHaveLength(tries);
      if (how === 'stopped') {
        // Stopped, it takes no new pod either.
        recovery.lost(pod, new Error('gone'));
        expect(recovery.isRecovering(pod)).toBe(false);
      }
    }
  });
});
