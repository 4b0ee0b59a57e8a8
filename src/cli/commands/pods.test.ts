// `neurino pods` against a gateway with a miner session, its table for people, and its errors when the
// router cannot be asked.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodStatus } from '../../application/gateway/ports.ts';
import {
  type GatewayHarness,
  startGatewayHarness,
  testPodSpec,
} from '../../application/testing/gateway-harness.ts';
import { formatPodTable } from '../pod-table.ts';
import { runCommand } from '../testing/run-command.ts';
import { podsCommand } from './pods.ts';

let h: GatewayHarness;
const run = (...args: string[]) => runCommand(podsCommand(), ['--data-dir', '/nonexistent', ...args]);

beforeAll(async () => {
  h = await startGatewayHarness({
    specs: [testPodSpec({ autoscale: { min: 1, max: 3 } }), testPodSpec({ name: 'cold-one' })],
  });
  await h.peer(0);
});

afterAll(async () => {
  await h?.close();
});

describe('neurino pods', () => {
  it("prints each model's warm nodes beside the autoscaler's target and bounds, and its jobs", async () => {
    const [header, first, second, more] = (await run('--gateway', h.url)).split('\n');
    expect(header).toMatch(/^model +runtime +warm +target +bounds +running +queued +pod$/);
    // The harness's peer holds every pod warm; its autoscaler has not looked yet, so the target is `min`.
    expect(first).toMatch(/^test-llm +llama-cpp +1 +1 +1–3 +0 +0 +0x[0-9a-f]{8}…$/);
    expect(second).toMatch(/^cold-one +llama-cpp +1 +0 +0–4 +0 +0 +0x[0-9a-f]{8}…$/);
    expect(more).toBeUndefined();
    const json = JSON.parse(await run('--gateway', h.url, '--json')) as PodStatus[];
    expect(json.map((p) => [p.model, p.podId, p.autoscale])).toEqual([
      ['test-llm', h.podId, { min: 1, max: 3 }],
      ['cold-one', expect.stringMatching(/^0x[0-9a-f]{64}$/), { min: 0, max: 4 }],
    ]);
  });

  it('says what is wrong when the router has no such list', async () => {
    const other = createServer((_req, res) => res.writeHead(404).end('not here'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      await expect(run('--gateway', url)).rejects.toThrow(`the router at ${url} answered GET /pods with 404`);
    } finally {
      other.close();
    }
  });
});

describe('formatPodTable', () => {
  it('names a model with its aliases, and says when there is none', () => {
    const pod: PodStatus = {
      podId: `0x${'ab'.repeat(32)}`,
      model: 'llama-3-8b',
      aliases: ['llama3', 'meta-llama/Meta-Llama-3-8B-Instruct'],
      runtime: 'openai-upstream',
      warmNodes: 3,
      targetNodes: 4,
      autoscale: { min: 2, max: 16 },
      jobs: { running: 7, queued: 2 },
    };
    expect(formatPodTable([pod]).split('\n')[1]).toBe(
      'llama-3-8b (llama3, meta-llama/Meta-Llama-3-8B-Instruct)  openai-upstream  3     4       2–16    7        2       0xabababab…',
    );
    expect(formatPodTable([])).toBe('the router serves no model');
  });
});
