// `neurino credits …` against a real chain (anvil with the protocol deployed): showing an account, a
// deposit (the token approved first), a withdrawal requested, refused before it is due and claimed after,
// and each refusal in words.
import { parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devRoleAccount } from '../../chain/dev-accounts.ts';
import { neurinoTokenAbi } from '../../chain/generated/index.ts';
import type { ProtocolFixture } from '../../orchestration/settlement/testing/protocol-fixture.ts';
import { type CliChain, startCliChain } from '../testing/cli-chain.ts';
import { runCommand } from '../testing/run-command.ts';
import { creditsCommand } from './credits.ts';

let cli: CliChain;
let chain: ProtocolFixture;
let dir: string;
let chainFlags: string[];
const key = generatePrivateKey();
const account = privateKeyToAccount(key).address;

beforeAll(async () => {
  // --data-dir points where no devnet is, so nothing falls back to a local one.
  cli = await startCliChain('credits');
  ({ chain, dir, chainFlags } = cli);
  // NEU to deposit and ETH for gas.
  await chain.giveEth(account, parseEther('1'));
  await chain.write(devRoleAccount('deployer'), {
    address: chain.book.contracts.neurinoToken,
    abi: neurinoTokenAbi,
    functionName: 'transfer',
    args: [account, parseEther('10')],
  });
});

afterAll(async () => {
  await cli?.stop();
});

/** Runs `neurino credits …` in-process; resolves with what it printed on stdout. */
const run = (...args: string[]) => runCommand(creditsCommand(), args);

describe('neurino credits', () => {
  it("shows an account's credits, its NEU to deposit and its withdrawal", async () => {
    const shown = await run(account, '--no-gateway', ...chainFlags);
    expect(shown).toContain(`compute credits of ${account} (chain ${chain.book.chainId}`);
    expect(shown).toContain('credits     0 NEU (spendable 0 NEU)');
    expect(shown).toContain('wallet      10 NEU to deposit');
    expect(shown).toContain('withdrawal  none (a request is due 86400 s after it is made)');
    // The --key account when none is named.
    expect(await run('--key', key, '--no-gateway', ...chainFlags)).toContain(`of ${account}`);
  });

  it('deposits, withdraws once the delay has passed, and says why it cannot before', async () => {
    const deposited = await run('deposit', '4', '--key', key, ...chainFlags);
    expect(deposited).toMatch(new RegExp(`^deposited 4 NEU as credits of ${account} \\(0x[0-9a-f]{64}\\)`));
    expect(deposited).toContain('credits     4 NEU (spendable 4 NEU)');
    expect(deposited).toContain('wallet      6 NEU to deposit');

    const requested = await run('withdraw', '1.5', '--key', key, ...chainFlags);
    expect(requested).toContain('withdrawal of 1.5 NEU requested');
    expect(requested).toContain('credits     4 NEU (spendable 2.5 NEU)');
    expect(requested).toMatch(/withdrawal {2}1\.5 NEU requested, due \d{4}-\d\d-\d\dT/);
    await expect(run('claim', '--key', key, ...chainFlags)).rejects.toThrow(
      /^ComputeCredits refused the claim: the withdrawal is due at \d{4}-.*, not yet$/,
    );

    await chain.advanceTime(86_400);
    expect(await run('claim', '--key', key, ...chainFlags)).toMatch(/^claimed 1\.5 NEU to /);
    const after = await run(account, '--no-gateway', ...chainFlags);
    expect(after).toContain('credits     2.5 NEU (spendable 2.5 NEU)');
    expect(after).toContain('wallet      7.5 NEU to deposit');
    expect(after).toContain('withdrawal  none');
  });

  it("credits another account's deposit with --for", async () => {
    const other = privateKeyToAccount(generatePrivateKey()).address;
    expect(await run('deposit', '1', '--for', other, '--key', key, ...chainFlags)).toContain(
      `deposited 1 NEU as credits of ${other}`,
    );
    expect(await run(other, '--no-gateway', ...chainFlags)).toContain('credits     1 NEU');
  });

  it('refuses in words: no key, no chain, a bad amount, too little NEU or credits, nothing to claim', async () => {
    const saved = process.env.NEURINO_KEY;
    delete process.env.NEURINO_KEY;
    try {
      await expect(run('deposit', '1', ...chainFlags)).rejects.toThrow(
        'a key is needed: --key or NEURINO_KEY',
      );
      await expect(run(account, '--data-dir', dir)).rejects.toThrow(
        /^no chain: pass --rpc-url and --addresses/,
      );
      await expect(run(account, '--no-gateway', '--data-dir', dir)).rejects.toThrow(/^no chain/);
      for (const amount of ['0', '-1', 'ten', '1.0000000000000000001']) {
        await expect(run('deposit', amount, '--key', key, ...chainFlags)).rejects.toThrow(
          `expected an amount of NEU above 0, such as 100 or 0.5, got "${amount}"`,
        );
      }
      await expect(run('deposit', '100', '--key', key, ...chainFlags)).rejects.toThrow(
        `${account} holds 6.5 NEU, less than the 100 NEU to deposit`,
      );
      await expect(run('withdraw', '50', '--key', key, ...chainFlags)).rejects.toThrow(
        `ComputeCredits refused the withdrawal request: ${account} has 2.5 NEU of credits, less than 50`,
      );
      await expect(run('claim', '--key', key, ...chainFlags)).rejects.toThrow(
        'ComputeCredits refused the claim: no withdrawal was requested (neurino credits withdraw <NEU> first)',
      );
      await expect(run('not-an-address', ...chainFlags)).rejects.toThrow('not an address: "not-an-address"');
      // NEU but no ETH for gas.
      const broke = generatePrivateKey();
      await chain.write(devRoleAccount('deployer'), {
        address: chain.book.contracts.neurinoToken,
        abi: neurinoTokenAbi,
        functionName: 'transfer',
        args: [privateKeyToAccount(broke).address, parseEther('1')],
      });
      await expect(run('deposit', '1', '--key', broke, ...chainFlags)).rejects.toThrow(
        'the NEU token refused the approval: the account has too little ETH to pay for gas',
      );
    } finally {
      if (saved !== undefined) process.env.NEURINO_KEY = saved;
    }
  });
});
