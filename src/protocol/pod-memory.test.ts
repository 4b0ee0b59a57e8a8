import { describe, expect, it } from 'vitest';
import { podMemoryMiB } from './pod-memory.ts';

describe('podMemoryMiB', () => {
  const gpu = { name: 'RTX', vramMiB: 8_000, cuda: '12.4' };

  it("uses the GPUs' VRAM together (a model's layers split across them), or RAM on a CPU-only node", () => {
    expect(podMemoryMiB({ gpus: [gpu, { ...gpu, vramMiB: 24_000 }], ramMiB: 1 })).toBe(32_000);
    expect(podMemoryMiB({ gpus: [gpu], ramMiB: 64_000 })).toBe(8_000);
    expect(podMemoryMiB({ gpus: [], ramMiB: 16_000 })).toBe(16_000);
  });
});
