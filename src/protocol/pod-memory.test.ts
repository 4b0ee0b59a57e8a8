import { describe, expect, it } from 'vitest';
import { podMemoryMiB } from './pod-memory.ts';

describe('podMemoryMiB', () => {
  const gpu = { name: 'RTX', vramMiB: 8_000, cuda: '12.4' };

  it('uses the largest GPU, or RAM on a CPU-only node', () => {
    expect(podMemoryMiB({ gpus: [gpu, { ...gpu, vramMiB: 24_000 }], ramMiB: 1 })).toBe(24_000);
    expect(podMemoryMiB({ gpus: [], ramMiB: 16_000 })).toBe(16_000);
  });
});
