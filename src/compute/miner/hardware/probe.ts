// What this machine has: GPUs from nvidia-smi, else a CPU node (cores, model, RAM).
import { execFile } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { Gpu } from '../../../protocol/messages/node-state.ts';
import { NVIDIA_SMI_QUERY_ARGS, parseCudaVersion, parseGpuQuery } from './nvidia-smi.ts';

export interface Hardware {
  readonly gpus: Gpu[];
  readonly cpu: { readonly model: string; readonly cores: number };
  readonly ramMiB: number;
  /**
   * The most VRAM free on one GPU when probed (MiB), before the node loads anything: what other processes
   * (an upstream server, a desktop) leave for its pods. Absent without a GPU.
   */
  readonly freeVramMiB?: number;
  /** `python3 --version`, for pods that need a Python. */
  readonly python?: string;
  /** Why a GPU was not reported although nvidia-smi exists (malformed output, driver error). */
  readonly warnings: string[];
}

export interface ProbeOptions {
  /** The nvidia-smi binary; default `nvidia-smi` on PATH. */
  readonly nvidiaSmi?: string;
  readonly python?: string;
  readonly timeoutMs?: number;
}

type RunResult = { ok: true; stdout: string } | { ok: false; missing: boolean; reason: string };

function run(file: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error === null) return resolve({ ok: true, stdout });
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      const reason = `${file} failed: ${(stderr || error.message).trim().slice(0, 200)}`;
      resolve({ ok: false, missing, reason });
    });
  });
}

/** GPUs per nvidia-smi; none (with a warning) when it is missing, fails, or prints something unexpected. */
export async function probeGpus(
  options: ProbeOptions = {},
): Promise<{ gpus: Gpu[]; freeVramMiB?: number; warnings: string[] }> {
  const binary = options.nvidiaSmi ?? 'nvidia-smi';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const query = await run(binary, NVIDIA_SMI_QUERY_ARGS, timeoutMs);
  if (!query.ok) return { gpus: [], warnings: query.missing ? [] : [query.reason] };
  const banner = await run(binary, [], timeoutMs);
  const cuda = banner.ok ? parseCudaVersion(banner.stdout) : undefined;
  const parsed = parseGpuQuery(query.stdout, cuda);
  if (!parsed.ok) return { gpus: [], warnings: [parsed.reason] };
  const free =
    parsed.freeMiB.length === 0 ? {} : { freeVramMiB: parsed.freeMiB.reduce((sum, mib) => sum + mib, 0) };
  return { gpus: parsed.gpus, ...free, warnings: [] };
}

export async function probePython(options: ProbeOptions = {}): Promise<string | undefined> {
  const result = await run(options.python ?? 'python3', ['--version'], options.timeoutMs ?? 10_000);
  return result.ok ? /Python\s+(\S+)/.exec(result.stdout)?.[1] : undefined;
}

export function probeCpu(): Hardware['cpu'] & { ramMiB: number } {
  const list = cpus();
  const model = (list[0]?.model ?? 'unknown').trim().slice(0, 128) || 'unknown';
  return { model, cores: Math.max(1, list.length), ramMiB: Math.floor(totalmem() / 2 ** 20) };
}

export async function probeHardware(options: ProbeOptions = {}): Promise<Hardware> {
  const [{ gpus, freeVramMiB, warnings }, python] = await Promise.all([
    probeGpus(options),
    probePython(options),
  ]);
  const { model, cores, ramMiB } = probeCpu();
  return {
    gpus,
    cpu: { model, cores },
    ramMiB,
    ...(freeVramMiB === undefined ? {} : { freeVramMiB }),
    ...(python === undefined ? {} : { python }),
    warnings,
  };
}
