import { describe, expect, it } from 'vitest';
import { type IdlePod, PodKeepAlive } from './pod-keep-alive.ts';

class Pod implements IdlePod {
  loaded = true;
  busy = false;
  unloading = false;
  unloads = 0;

  constructor(
    readonly name: string,
    public lastUsed: number,
    readonly resident = true,
  ) {}

  async unload(): Promise<void> {
    this.unloads++;
    this.loaded = false;
  }
}

describe('PodKeepAlive', () => {
  it('unloads the loaded in-process pods idle for the keep-alive, and only those', async () => {
    const pods = [
      new Pod('idle', 0),
      new Pod('recent', 950),
      new Pod('busy', 0),
      new Pod('upstream', 0, false),
      new Pod('unloading', 0),
      new Pod('cold', 0),
    ];
    (pods[2] as Pod).busy = true;
    (pods[4] as Pod).unloading = true;
    (pods[5] as Pod).loaded = false;
    const unloaded: string[] = [];
    const keepAlive = new PodKeepAlive(
      () => pods,
      1_000,
      (pod) => unloaded.push(pod.name),
    );
    try {
      keepAlive.check(1_000);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unloaded).toEqual(['idle']);
      expect(pods.map((p) => p.unloads)).toEqual([1, 0, 0, 0, 0, 0]);
      keepAlive.check(1_950);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unloaded).toEqual(['idle', 'recent']);
    } finally {
      keepAlive.stop();
    }
  });

  it('checks by itself, and says when an unload failed', async () => {
    const pod = new Pod('idle', 0);
    pod.unload = async () => {
      throw new Error('engine gone');
    };
    const seen: unknown[] = [];
    const keepAlive = new PodKeepAlive(
      () => [pod],
      20,
      (_pod, error) => seen.push(error),
    );
    try {
      await expect.poll(() => seen.length).toBeGreaterThan(0);
      expect(String(seen[0])).toContain('engine gone');
    } finally {
      keepAlive.stop();
    }
  });

  it('refuses a keep-alive that is not positive', () => {
    expect(
      () =>
        new PodKeepAlive(
          () => [],
          0,
          () => {},
        ),
    ).toThrow(RangeError);
  });
});
