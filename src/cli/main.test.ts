// The command line's last word on a failed command: one line on stderr, exit 1, no secret of a URL in it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/free-port.ts';
import { writeAddressBook } from '../chain/address-book.ts';

const BIN = new URL('../../bin/neurino.js', import.meta.url).pathname;
const KEY_IN_PATH = '9aa3d95b3bc440fa88ea12eaa4456161';
const one = (n: number): `0x${string}` => `0x${n.toString(16).padStart(40, '0')}`;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'neurino-cli-'));
  await writeAddressBook(join(dir, 'addresses.json'), {
    chainId: 31337,
    deployer: one(1),
    governance: one(2),
    router: one(3),
    deployedAtBlock: 0,
    contracts: {
      neurinoToken: one(10),
      emissionVault: one(11),
      computeReservoir: one(12),
      teamVesting: one(13),
      privateSaleVesting: one(14),
      stakedNeurino: one(15),
      nodeRegistry: one(16),
      podRegistry: one(17),
      computeCredits: one(18),
      settlement: one(19),
    },
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function neurino(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

describe('neurino <command> failing', () => {
  it('prints the RPC client error with the URL redacted and exits 1', async () => {
    const port = await freePort();
    const rpcUrl = `http://127.0.0.1:${port}/v3/${KEY_IN_PATH}?apikey=${KEY_IN_PATH}`;
    const { code, stderr } = await neurino([
      'router',
      '--rpc-url',
      rpcUrl,
      '--addresses',
      join(dir, 'addresses.json'),
      '--data-dir',
      join(dir, 'router'),
      '--key',
      `0x${'11'.repeat(32)}`,
      '--port',
      '0',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain(`neurino: HTTP request failed.`);
    expect(stderr).toContain(`URL: http://127.0.0.1:${port}/v3/***?apikey=***`);
    expect(stderr).not.toContain(KEY_IN_PATH);
  });
});
