// `neurino earnings …` against a real chain (anvil with the protocol deployed, a batch settled by the
// router): a node's, a pod deployer's and a frontend's shares, a claim to oneself and to another address
// (by --key and by a miner's key file), and each refusal in words.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, formatEther, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeKeyFile } from '../../compute/miner/node-key.ts';
import {
  FRONTEND_BPS,
  type ProtocolFixture,
} from '../../orchestration/settlement/testing/protocol-fixture.ts';
import { writeDevnetFile } from '../devnet-file.ts';
import { type CliChain, startCliChain } from '../testing/cli-chain.ts';
import { runCommand } from '../testing/run-command.ts';
import { earningsCommand } from './earnings.ts';

let cli: CliChain;
let chain: ProtocolFixture;
let dir: string;
let chainFlags: string[];
let keyFile: string;
let node: Address;
const deployerKey = generatePrivateKey();
const deployer = privateKeyToAccount(deployerKey);
/** Has earnings but never gets ETH for gas. */
const frontendKey = generatePrivateKey();
const frontend = privateKeyToAccount(frontendKey).address;
/** 10 NEU charged: the deployer takes 20 %, the frontend 10 % (FRONTEND_BPS), buyback 5 %, the node the rest. */
const CHARGED = parseEther('10');

beforeAll(async () => {
  cli = await startCliChain('earnings');
  ({ chain, dir, chainFlags } = cli);
  // The node as an operator has it: a miner's key file (mode 0600 in a 0700 directory).
  keyFile = join(dir, 'miner', 'node-key.json');
  node = (await createNodeKeyFile(keyFile)).account.address;
  // ETH for gas, for the node and the deployer.
  for (const account of [node, deployer.address]) {
    await chain.giveEth(account, parseEther('1'));
  }
  const podId = await chain.registerPod(deployer, { deployerShareBps: 2_000 });
  await chain.settleLine({ podId, node, frontend, amount: CHARGED });
});

afterAll(async () => {
  await cli?.stop();
});

/** Runs `neurino earnings …` in-process; resolves with what it printed on stdout. */
const run = (...args: string[]) => runCommand(earningsCommand(), args);

const share = (bps: number) => (CHARGED * BigInt(bps)) / 10_000n;

describe('neurino earnings', () => {
  it("shows each party's share of a settled batch, and what all parties have not claimed", async () => {
    const nodeShare = await chain.earningsOf(node);
    expect(nodeShare).toBeGreaterThan(0n);
    expect(await chain.earningsOf(frontend)).toBe(share(FRONTEND_BPS));
    const shown = await run(node, deployer.address, frontend, ...chainFlags);
    expect(shown).toContain(
      `earnings on chain ${chain.book.chainId} (Settlement ${chain.book.contracts.settlement})`,
    );
    expect(shown).toContain(`account  ${node}  ${formatEther(nodeShare)} NEU to claim, 0 NEU in the wallet`);
    expect(shown).toContain(`account  ${frontend}  1 NEU to claim, 0 NEU in the wallet`);
    const total = nodeShare + (await chain.earningsOf(deployer.address)) + share(FRONTEND_BPS);
    expect(shown).toContain(`all parties: ${formatEther(total)} NEU not claimed yet`);
    // The key file's account when none is named, as a miner's operator would ask.
    expect(await run('--key-file', keyFile, ...chainFlags)).toContain(`key  ${node}`);
  });

  it("lists a devnet's earners when no account is named", async () => {
    const devnetDir = await mkdtemp(join(tmpdir(), 'neurino-earnings-devnet-'));
    try {
      await writeDevnetFile(devnetDir, {
        rpcUrl: chain.anvil.rpcUrl,
        chainId: chain.book.chainId,
        contracts: chain.book.contracts,
        earners: [
          { role: 'node 1', address: node },
          { role: 'frontend', address: frontend },
        ],
      });
      const shown = await run('--data-dir', devnetDir);
      expect(shown).toContain(`node 1    ${node}`);
      expect(shown).toContain(`frontend  ${frontend}  1 NEU to claim`);
    } finally {
      await rm(devnetDir, { recursive: true, force: true });
    }
  });

  it('claims to the key account, or to another address with --to', async () => {
    const nodeShare = await chain.earningsOf(node);
    expect(await run('claim', '--key-file', keyFile, ...chainFlags)).toMatch(
      new RegExp(
        `^claimed ${formatEther(nodeShare)} NEU earned by ${node}, paid to ${node} \\(0x[0-9a-f]{64}\\)`,
      ),
    );
    expect(await run(node, ...chainFlags)).toContain(
      `0 NEU to claim, ${formatEther(nodeShare)} NEU in the wallet`,
    );

    const cold = privateKeyToAccount(generatePrivateKey()).address;
    const deployerShare = await chain.earningsOf(deployer.address);
    expect(await run('claim', '--to', cold, '--key', deployerKey, ...chainFlags)).toContain(
      `earned by ${deployer.address}, paid to ${cold}`,
    );
    expect(await run(cold, ...chainFlags)).toContain(
      `0 NEU to claim, ${formatEther(deployerShare)} NEU in the wallet`,
    );
  });

  it('refuses in words: nothing to claim, no key, no gas, a bad address, no chain', async () => {
    const saved = process.env.NEURINO_KEY;
    delete process.env.NEURINO_KEY;
    try {
      await expect(run('claim', '--key-file', keyFile, ...chainFlags)).rejects.toThrow(
        `Settlement refused the claim: ${node} has no earnings to claim`,
      );
      await expect(run('claim', ...chainFlags)).rejects.toThrow(
        'whose earnings? a key is needed: --key, NEURINO_KEY or --key-file',
      );
      await expect(run(...chainFlags)).rejects.toThrow(/^whose earnings\? name accounts, or pass --key/);
      await expect(run('claim', '--key-file', join(dir, 'nowhere.json'), ...chainFlags)).rejects.toThrow(
        `no key file at ${join(dir, 'nowhere.json')}`,
      );
      await expect(run('claim', '--to', '0x12', '--key-file', keyFile, ...chainFlags)).rejects.toThrow(
        'not an address: "0x12"',
      );
      await expect(run('not-an-address', ...chainFlags)).rejects.toThrow('not an address: "not-an-address"');
      await expect(run(node, '--data-dir', dir)).rejects.toThrow(/^no chain: pass --rpc-url and --addresses/);
      // Earnings but no ETH for gas: the frontend's key was never given any.
      await expect(run('claim', '--key', frontendKey, ...chainFlags)).rejects.toThrow(
        'Settlement refused the claim: the account has too little ETH to pay for gas',
      );
      expect(await chain.earningsOf(frontend)).toBe(share(FRONTEND_BPS));
    } finally {
      if (saved !== undefined) process.env.NEURINO_KEY = saved;
    }
  });
});
