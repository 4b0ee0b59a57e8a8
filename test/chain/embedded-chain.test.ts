// `neurino chain` semantics: first start deploys, a restart keeps addresses and balances.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { chainFor, publicClientFor, walletClientFor } from '../../src/chain/clients.ts';
import { devRoleAccount } from '../../src/chain/dev-accounts.ts';
import { startEmbeddedChain } from '../../src/chain/embedded-chain.ts';
import { neurinoTokenAbi } from '../../src/chain/generated/index.ts';
import { freePort } from '../support/free-port.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'neurino-chain-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('embedded chain', () => {
  it('deploys once and keeps state across a restart', async () => {
    const port = await freePort();
    const recipient = '0x000000000000000000000000000000000000bEEF';
    const first = await startEmbeddedChain({ dataDir, port });
    expect(first.deployed).toBe(true);
    const chain = chainFor(first.book.chainId, first.anvil.rpcUrl);
    const publicClient = publicClientFor(chain);
    const token = first.book.contracts.neurinoToken;
    expect(
      await publicClient.readContract({ address: token, abi: neurinoTokenAbi, functionName: 'totalSupply' }),
    ).toBe(10n ** 27n);
    const wallet = walletClientFor(chain, devRoleAccount('deployer'));
    const hash = await wallet.writeContract({
      address: token,
      abi: neurinoTokenAbi,
      functionName: 'transfer',
      args: [recipient, parseEther('42')],
    });
    await publicClient.waitForTransactionReceipt({ hash });
    await first.stop();

    const second = await startEmbeddedChain({ dataDir, port });
    try {
      expect(second.deployed).toBe(false);
      expect(second.book.contracts).toEqual(first.book.contracts);
      const balance = await publicClient.readContract({
        address: token,
        abi: neurinoTokenAbi,
        functionName: 'balanceOf',
        args: [recipient],
      });
      expect(balance).toBe(parseEther('42'));
    } finally {
      await second.stop();
    }
  });

  it('redeploys when the saved state is gone but the address book is not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'neurino-chain-lost-'));
    try {
      const port = await freePort();
      const first = await startEmbeddedChain({ dataDir: dir, port });
      await first.stop();
      await rm(join(dir, 'chain', 'state.json'));
      const second = await startEmbeddedChain({ dataDir: dir, port });
      expect(second.deployed).toBe(true);
      await second.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails clearly when the port is taken', async () => {
    const port = await freePort();
    const holder = await startEmbeddedChain({ dataDir, port });
    try {
      const other = await mkdtemp(join(tmpdir(), 'neurino-chain-busy-'));
      await expect(startEmbeddedChain({ dataDir: other, port })).rejects.toThrow(
        /cannot start anvil: [\d.]+:\d+ is in use \(EADDRINUSE\)/,
      );
      await rm(other, { recursive: true, force: true });
    } finally {
      await holder.stop();
    }
  });
});
