// Parsing what `nvidia-smi` prints. Pure functions, unit-tested on captured outputs.
import type { Gpu } from '../../../protocol/messages/node-state.ts';
import { MAX_MIB } from '../../../protocol/scalars.ts';

/** Arguments of the machine-readable GPU query: one CSV line per GPU. */
export const NVIDIA_SMI_QUERY_ARGS = [
  '--query-gpu=name,memory.total,memory.free,driver_version',
  '--format=csv,noheader,nounits',
] as const;

/** The GPUs, and the memory free on each when asked (MiB; other processes hold the rest). */
export type GpuQueryResult = { ok: true; gpus: Gpu[]; freeMiB: number[] } | { ok: false; reason: string };

/**
 * `name, memory.total (MiB), memory.free (MiB), driver_version` lines into GPUs. A line that does not parse
 * fails the whole output: reporting fewer or wrong GPUs would be worse than reporting none and saying why.
 */
export function parseGpuQuery(csv: string, cuda?: string): GpuQueryResult {
  const lines = csv
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const gpus: Gpu[] = [];
  const freeMiB: number[] = [];
  for (const [index, line] of lines.entries()) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 4) return bad(index, line, 'expected 4 comma-separated fields');
    // GPU names carry no commas today; if one ever does, the last three fields are still memory and driver.
    const driver = fields.at(-1) as string;
    const free = fields.at(-2) as string;
    const memory = fields.at(-3) as string;
    const name = fields.slice(0, -3).join(', ');
    if (name === '' || name.length > 128) return bad(index, line, 'bad GPU name');
    if (!isMiB(memory)) return bad(index, line, 'memory is not MiB');
    if (!isMiB(free) || Number(free) > Number(memory))
      return bad(index, line, 'free memory is not MiB of it');
    if (!/^\d+(\.\d+)*$/.test(driver)) return bad(index, line, 'driver version is not a version');
    gpus.push({ name, vramMiB: Number(memory), driver, ...(cuda === undefined ? {} : { cuda }) });
    freeMiB.push(Number(free));
  }
  return { ok: true, gpus, freeMiB };
}

/** The `CUDA Version: 12.4` of the plain `nvidia-smi` banner (the driver's CUDA), if shown. */
export function parseCudaVersion(banner: string): string | undefined {
  return /CUDA Version:\s*(\d+(?:\.\d+)*)/.exec(banner)?.[1];
}

function isMiB(field: string): boolean {
  return /^\d{1,10}$/.test(field) && Number(field) <= MAX_MIB;
}

function bad(index: number, line: string, why: string): GpuQueryResult {
  return { ok: false, reason: `nvidia-smi line ${index + 1} ${JSON.stringify(line.slice(0, 120))}: ${why}` };
}
