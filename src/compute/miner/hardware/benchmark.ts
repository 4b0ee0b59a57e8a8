// The fallback self-benchmark, for a machine where llama.cpp's binding does not run (see efficiency.ts):
// a fixed amount of float32 matrix multiplication in JavaScript, timed.
import { performance } from 'node:perf_hooks';

export interface BenchmarkOptions {
  /** Matrix side; the work is 2·size³ floating-point operations per repetition. */
  readonly size?: number;
  readonly repetitions?: number;
}

export interface BenchmarkResult {
  /** Billions of float32 operations per second: the `efficiency` announced to the router. */
  readonly gflops: number;
  readonly elapsedMs: number;
  /** A digest of the product, so the work cannot be optimised away and a broken FPU shows. */
  readonly checksum: number;
}

/** Multiplies two seeded size×size float32 matrices `repetitions` times (default 128 × 12, ~50 MFLOP). */
export function runBenchmark(options: BenchmarkOptions = {}): BenchmarkResult {
  const size = options.size ?? 128;
  const repetitions = options.repetitions ?? 12;
  if (!Number.isInteger(size) || size < 1 || size > 2048) throw new RangeError('size must be 1..2048');
  if (!Number.isInteger(repetitions) || repetitions < 1) throw new RangeError('repetitions must be >= 1');
  const a = seeded(size * size, 1);
  const b = seeded(size * size, 2);
  const c = new Float32Array(size * size);
  const started = performance.now();
  for (let r = 0; r < repetitions; r++) multiply(a, b, c, size);
  const elapsedMs = Math.max(performance.now() - started, 1e-3);
  const flops = 2 * size ** 3 * repetitions;
  let checksum = 0;
  for (let i = 0; i < c.length; i += 97) checksum += c[i] as number;
  return { gflops: round(flops / elapsedMs / 1e6), elapsedMs, checksum };
}

/** c = a·b, row-major, i-k-j order so the inner loop walks memory in sequence. */
function multiply(a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  c.fill(0);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[row + k] as number;
      const col = k * n;
      for (let j = 0; j < n; j++) c[row + j] = (c[row + j] as number) + aik * (b[col + j] as number);
    }
  }
}

/** Deterministic values in [-1, 1) (xorshift32). */
function seeded(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
