// `neurino nodes` against a gateway with a real miner session, its table for people, and its errors when
// the router cannot be asked.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import type { NodeStatus } from '../../application/gateway/ports.ts';
import {
  type GatewayHarness,
  minerAccount,
  startGatewayHarness,
} from '../../application/testing/gateway-harness.ts';
import { formatNodeTable } from '../node-table.ts';
import { runCommand } from '../testing/run-command.ts';
import { nodesCommand } from './nodes.ts';

let h: GatewayHarness;
const run = (...args: string[]) => runCommand(nodesCommand(), ['--data-dir', '/nonexistent', ...args]);

beforeAll(async () => {
  h = await startGatewayHarness();
  await h.peer(0);
});

afterAll(async () => {
  await h?.close();
});

const status = (overrides: Partial<NodeStatus> = {}): NodeStatus => ({
  node: minerAccount(0).address,
  state: 'ready',
  sessionId: 'ses_1',
  protocolVersion: 1,
  software: { neurino: '0.1.0', node: 'v20.19.0' },
  connectedAt: 0,
  lastHeartbeat: { at: 0, receivedAt: 9_000, load: 0.5 },
  hardware: {
    gpus: [{ name: 'NVIDIA RTX 4090', vramMiB: 24_564 }],
    cpu: { model: 'x', cores: 16 },
    ramMiB: 65_536,
    efficiency: 82.5,
    runtimes: ['llama-cpp'],
  },
  slots: { total: 4, running: 3, free: 1 },
  warmPods: [{ podId: `0x${'ab'.repeat(32)}`, model: 'llama-3-8b' }],
  hostedPods: null,
  podMemory: null,
  uptime: 0.9987,
  seenMs: 7_200_000,
  connectedMs: 7_190_640,
  suspendedUntil: null,
  rankedEfficiency: null,
  paces: [],
  ...overrides,
});

describe('neurino nodes', () => {
  it('prints the connected nodes as a table, or as the JSON the router sent', async () => {
    const table = await run('--gateway', h.url);
    const [header, row, more] = table.split('\n');
    expect(header).toMatch(
      /^node +state +jobs +hardware +efficiency +connected +uptime +warm +cold +last heard$/,
    );
    expect(row).toContain(minerAccount(0).address);
    expect(row).toMatch(
      / ready +0\/4 +CPU 2 cores, 8 GiB +10\.0 +\d+ (ms|s) +[\d.]+ % of \d+ (ms|s) +test-llm +- +\d+ (ms|s) ago$/,
    );
    expect(more).toBeUndefined();

    const json = JSON.parse(await run('--gateway', h.url, '--json')) as NodeStatus[];
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ node: minerAccount(0).address, state: 'ready' });
  });

  it('says what is wrong when the router cannot be asked', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    await expect(run('--gateway', closed)).rejects.toThrow(`cannot reach the router at ${closed}`);

    const other = createServer((_req, res) => res.writeHead(404).end('not here'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      await expect(run('--gateway', url)).rejects.toThrow(
        `the router at ${url} answered GET /nodes with 404`,
      );
    } finally {
      other.close();
    }
    await expect(run()).rejects.toThrow('no router to ask: pass --gateway');
  });
});

describe("neurino nodes on an operators' listener with a token", () => {
  const token = 'operator-token-for-the-nodes-test';
  let guarded: GatewayHarness;
  let ops: string;

  beforeAll(async () => {
    guarded = await startGatewayHarness({ gateway: { separateOperations: true, operatorToken: token } });
    await guarded.peer(1);
    ops = await guarded.operationsUrl();
  });

  afterAll(async () => {
    await guarded?.close();
  });

  it('sends the token from a file or the environment, and says when it is missing or wrong', async () => {
    await expect(run('--gateway', ops)).rejects.toThrow(
      `the router at ${ops} asks for its operator token: --operator-token-file or NEURINO_OPERATOR_TOKEN`,
    );
    const dir = await mkdtemp(join(tmpdir(), 'neurino-nodes-'));
    const file = join(dir, 'token');
    try {
      await writeFile(file, `${token}\n`, { mode: 0o600 });
      expect(await run('--gateway', ops, '--operator-token-file', file)).toContain(minerAccount(1).address);
      await writeFile(file, `${token}-old`);
      await expect(run('--gateway', ops, '--operator-token-file', file)).rejects.toThrow(
        `the router at ${ops} refused the operator token`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const saved = process.env.NEURINO_OPERATOR_TOKEN;
    process.env.NEURINO_OPERATOR_TOKEN = token;
    try {
      expect(await run('--gateway', ops)).toContain(minerAccount(1).address);
    } finally {
      if (saved === undefined) delete process.env.NEURINO_OPERATOR_TOKEN;
      else process.env.NEURINO_OPERATOR_TOKEN = saved;
    }
  });
});

describe('formatNodeTable', () => {
  it('shows GPUs, busy slots, uptime, warm models, suspensions and silence in words', () => {
    const now = 10_000;
    const lines = formatNodeTable(
      [
        status(),
        status({
          node: minerAccount(1).address,
          state: 'suspended',
          suspendedUntil: now + 45_000,
          lastHeartbeat: null,
          hardware: null,
          warmPods: [{ podId: `0x${'cd'.repeat(32)}`, model: null }],
        }),
      ],
      now,
    ).split('\n');
    expect(lines[1]).toMatch(
      / ready +3\/4 +NVIDIA RTX 4090 24 GiB +82\.5 +10 s +99\.9 % +llama-3-8b +- +1 s ago$/,
    );
    expect(lines[2]).toMatch(/ suspended 45 s more +3\/4 +- +- +10 s +99\.9 % +0xcdcdcdcd… +- +10 s ago$/);
    // Rate limited: paused, not suspended.
    const paused = formatNodeTable([status({ state: 'paused', suspendedUntil: now + 2_000 })], now);
    expect(paused.split('\n')[1]).toMatch(/ paused 2 s more +3\/4 /);
    // A node seen for less than the scheduler's hour: its share of the time seen, and that time.
    const fresh = formatNodeTable([status({ uptime: 0.0025, seenMs: 9_000, connectedMs: 9_000 })], now);
    expect(fresh.split('\n')[1]).toMatch(/ 10 s +100\.0 % of 9 s +llama-3-8b /);
    // A node whose pace belies the efficiency it announces: both figures.
    const capped = formatNodeTable([status({ rankedEfficiency: 9.25 })], now);
    expect(capped.split('\n')[1]).toMatch(/ NVIDIA RTX 4090 24 GiB +82\.5, ranked as 9\.3 +10 s /);
    // The memory its pods hold of what they may, when the node says.
    const memory = formatNodeTable([status({ podMemory: { budgetMiB: 24_564, heldMiB: 4_920 } })], now);
    expect(memory.split('\n')[1]).toMatch(/ llama-3-8b \(4\.8 GiB of 24 GiB\) +- +1 s ago$/);
    const cold = formatNodeTable([status({ warmPods: [], podMemory: { budgetMiB: 900, heldMiB: 0 } })], now);
    expect(cold.split('\n')[1]).toMatch(/ - \(0 MiB of 900 MiB\) +- +1 s ago$/);
    // The models it hosts cold, which a job for them would load.
    const hosting = formatNodeTable(
      [
        status({
          hostedPods: [
            { podId: `0x${'ab'.repeat(32)}`, model: 'llama-3-8b' },
            { podId: `0x${'ef'.repeat(32)}`, model: 'qwen-2.5-7b' },
            { podId: `0x${'12'.repeat(32)}`, model: null },
          ],
        }),
      ],
      now,
    );
    expect(hosting.split('\n')[1]).toMatch(/ llama-3-8b +qwen-2\.5-7b, 0x12121212… +1 s ago$/);
    // Slots busy beyond its jobs: cancelled attempts it is still stopping, or work this router did not assign.
    const stopping = formatNodeTable([status({ slots: { total: 4, running: 1, free: 1 } })], now);
    expect(stopping.split('\n')[1]).toMatch(/ ready +1\/4 \(\+2 busy\) +NVIDIA RTX 4090 /);
    expect(formatNodeTable([], now)).toBe('no node is connected');
  });
});
