// Parsing what `nvidia-smi` prints. Pure functions, unit-tested on captured outputs.
import type { Gpu } from '../../../protocol/messages/node-state.ts';

/** Arguments of the machine-readable GPU query: one CSV line per GPU. */
export const NVIDIA_SMI_QUERY_ARGS = [
  '--query-gpu=name,memory.total,driver_version',
  '--format=csv,noheader,nounits',
] as const;

export type GpuQueryResult = { ok: true; gpus: Gpu[] } | { ok: false; reason: string };

/**
 * `name, memory.total (MiB), driver_version` lines into GPUs. A line that does not parse fails the whole
 * output: reporting fewer or wrong GPUs would be worse than reporting none and saying why.
 */
export function parseGpuQuery(csv: string, cuda?: string): GpuQueryResult {
  const lines = csv
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const gpus: Gpu[] = [];
  for (const [index, line] of lines.entries()) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 3) return bad(index, line, 'expected 3 comma-separated fields');
    // GPU names carry no commas today; if one ever does, the last two fields are still memory and driver.
    const driver = fields.at(-1) as string;
    const memory = fields.at(-2) as string;
    const name = fields.slice(0, -2).join(', ');
    if (name === '' || name.length > 128) return bad(index, line, 'bad GPU name');
    if (!/^\d{1,10}$/.test(memory) || Number(memory) > 2 ** 31) return bad(index, line, 'memory is not MiB');
    if (!/^\d+(\.\d+)*$/.test(driver)) return bad(index, line, 'driver version is not a version');
    gpus.push({ name, vramMiB: Number(memory), driver, ...(cuda === undefined ? {} : { cuda }) });
  }
  return { ok: true, gpus };
}

/** The `CUDA Version: 12.4` of the plain `nvidia-smi` banner (the driver's CUDA), if shown. */
export function parseCudaVersion(banner: string): string | undefined {
  return /CUDA Version:\s*(\d+(?:\.\d+)*)/.exec(banner)?.[1];
}

function bad(index: number, line: string, why: string): GpuQueryResult {
  return { ok: false, reason: `nvidia-smi line ${index + 1} ${JSON.stringify(line.slice(0, 120))}: ${why}` };
}
