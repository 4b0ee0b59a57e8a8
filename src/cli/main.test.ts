// The command line's last word: on a failed command one line on stderr, exit 1, no secret of a URL in it;
// when its reader goes away (`| head`) a quiet stop, no stack.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/free-port.ts';
import { writeAddressBook } from '../chain/address-book.ts';
import { hashReceipt, signReceipt } from '../protocol/receipt.ts';
import { receiptAuditJson } from '../protocol/receipt-audit.ts';
import { sampleReceipt } from '../protocol/testing/samples.ts';

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

describe('neurino <command> | a reader that stops early', () => {
  it('exits quietly when its output pipe closes (EPIPE), as Unix tools do', async () => {
    // A gateway answering with a true receipt: the command prints after that answer, by which time the
    // reader has gone away; every check passes, so a quiet stop is exit 0.
    const node = privateKeyToAccount(generatePrivateKey());
    const receipt = sampleReceipt(node.address);
    const domain = { chainId: 31337, verifyingContract: one(19) };
    const answer = receiptAuditJson({
      object: 'receipt',
      id: 'chatcmpl-AbCdEfGhIjKlMnOpQrStUvWx',
      receipt,
      receipt_hash: hashReceipt(receipt),
      node_signature: await signReceipt(node, domain, receipt),
      charged: 1n,
      attestation: null,
      router_signature: null,
      settlement: { status: 'unbatched', batch: null, settled_at: null },
      domain: { name: 'Neurino', version: '1', chain_id: 31337, verifying_contract: one(19) },
    });
    const gateway = createServer((_, reply) => reply.end(JSON.stringify(answer)));
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    try {
      const args = ['receipt', answer.id, '--gateway', url, '--api-key', 'nrn_x', '--no-chain', '--json'];
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(stderr).not.toContain('EPIPE');
      expect(code).toBe(0);
    } finally {
      await new Promise((resolve) => gateway.close(resolve));
    }
  });
});
