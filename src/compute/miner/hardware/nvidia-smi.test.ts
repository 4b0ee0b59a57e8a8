import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuSchema } from '../../../protocol/messages/node-state.ts';
import { parseCudaVersion, parseGpuQuery } from './nvidia-smi.ts';
import { probeGpus, probeHardware } from './probe.ts';

// As real machines print them (`nvidia-smi --query-gpu=name,memory.total,memory.free,driver_version
// --format=csv,noheader,nounits`); the second A100 has a server holding most of its memory.
const ONE_GPU = 'NVIDIA GeForce RTX 4090, 24564, 24076, 550.54.14\n';
const TWO_GPUS =
  'NVIDIA A100-SXM4-80GB, 81920, 81038, 535.129.03\nNVIDIA A100-SXM4-80GB, 81920, 7802, 535.129.03\n';
const BANNER = `Tue Mar 12 10:21:33 2024
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.14              Driver Version: 550.54.14      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
`;

describe('parseGpuQuery', () => {
  it('parses one GPU', () => {
    expect(parseGpuQuery(ONE_GPU, '12.4')).toEqual({
      ok: true,
      gpus: [{ name: 'NVIDIA GeForce RTX 4090', vramMiB: 24_564, driver: '550.54.14', cuda: '12.4' }],
      freeMiB: [24_076],
    });
  });

  it('parses two GPUs, in order, and each fits the capabilities schema', () => {
    const parsed = parseGpuQuery(TWO_GPUS);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.gpus).toHaveLength(2);
    expect(parsed.gpus.map((g) => g.vramMiB)).toEqual([81_920, 81_920]);
    expect(parsed.gpus[0]).not.toHaveProperty('cuda');
    for (const gpu of parsed.gpus) expect(GpuSchema.safeParse(gpu).success).toBe(true);
  });

  it('tolerates CRLF line ends and blank lines', () => {
    const parsed = parseGpuQuery(`\r\n${ONE_GPU.replace('\n', '\r\n')}\r\n`);
    expect(parsed.ok && parsed.gpus.length).toBe(1);
  });

  it('reads no GPU from empty output', () => {
    expect(parseGpuQuery('')).toEqual({ ok: true, gpus: [], freeMiB: [] });
  });

  it.each([
    ['memory not reported (MIG)', 'NVIDIA GeForce RTX 3090, [N/A], [N/A], 535.104.05'],
    ['a message instead of CSV', 'No devices were found'],
    ['a missing field', 'NVIDIA GeForce RTX 4090, 24564, 550.54.14'],
    ['a non-numeric driver', 'NVIDIA GeForce RTX 4090, 24564, 24076, unknown'],
    ['an empty name', ', 24564, 24076, 550.54.14'],
    ['a negative memory', 'NVIDIA GeForce RTX 4090, -1, 0, 550.54.14'],
    ['more free memory than there is', 'NVIDIA GeForce RTX 4090, 24564, 30000, 550.54.14'],
  ])('refuses the whole output on %s, naming the line', (_, line) => {
    const parsed = parseGpuQuery(`${ONE_GPU}${line}\n`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(/^nvidia-smi line 2 /);
  });
});

describe('parseCudaVersion', () => {
  it('reads the CUDA version from the banner', () => {
    expect(parseCudaVersion(BANNER)).toBe('12.4');
  });

  it('is undefined when the banner shows none', () => {
    expect(
      parseCudaVersion('| NVIDIA-SMI 550.54.14   Driver Version: 550.54.14   CUDA Version: N/A |'),
    ).toBeUndefined();
    expect(parseCudaVersion('')).toBeUndefined();
  });
});

describe('probeGpus', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nvidia-smi-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A stand-in nvidia-smi that replays captured output: the only way to run the probe on a machine without GPUs. */
  async function replay(name: string, script: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${script}\n`);
    await chmod(path, 0o755);
    return path;
  }

  it('reports no GPU, and no warning, when nvidia-smi is not installed', async () => {
    expect(await probeGpus({ nvidiaSmi: join(dir, 'absent') })).toEqual({ gpus: [], warnings: [] });
  });

  it('reports no GPU with a warning when nvidia-smi fails', async () => {
    const binary = await replay(
      'failing',
      'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver." >&2; exit 9',
    );
    const probed = await probeGpus({ nvidiaSmi: binary });
    expect(probed.gpus).toEqual([]);
    expect(probed.warnings[0]).toMatch(/couldn't communicate/);
  });

  it('reports no GPU with a warning when the output is malformed', async () => {
    const binary = await replay('malformed', 'echo "NVIDIA GeForce RTX 3090, [N/A], [N/A], 535.104.05"');
    const probed = await probeGpus({ nvidiaSmi: binary });
    expect(probed.gpus).toEqual([]);
    expect(probed.warnings[0]).toMatch(/memory is not MiB/);
  });

  it('reads the GPUs and the CUDA version from the two invocations', async () => {
    const binary = await replay(
      'two-gpus',
      `if [ "$#" -gt 0 ]; then printf '${TWO_GPUS.replaceAll('\n', '\\n')}'; else printf '%s\\n' '| NVIDIA-SMI 535.129.03   Driver Version: 535.129.03   CUDA Version: 12.2 |'; fi`,
    );
    const probed = await probeGpus({ nvidiaSmi: binary });
    expect(probed.warnings).toEqual([]);
    expect(probed.gpus).toEqual([
      { name: 'NVIDIA A100-SXM4-80GB', vramMiB: 81_920, driver: '535.129.03', cuda: '12.2' },
      { name: 'NVIDIA A100-SXM4-80GB', vramMiB: 81_920, driver: '535.129.03', cuda: '12.2' },
    ]);
    // What the GPUs have free together: what the node's pods may use (a model's layers split across them).
    expect(probed.freeVramMiB).toBe(81_038 + 7_802);
  });

  it('describes this machine as a CPU node with cores and RAM when it has no GPU', async () => {
    const hardware = await probeHardware({ nvidiaSmi: join(dir, 'absent') });
    expect(hardware.gpus).toEqual([]);
    expect(hardware.cpu.cores).toBeGreaterThanOrEqual(1);
    expect(hardware.cpu.model).not.toBe('');
    expect(hardware.ramMiB).toBeGreaterThan(0);
  });
});
