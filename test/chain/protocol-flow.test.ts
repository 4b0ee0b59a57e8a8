// The on-chain core end to end through viem: deploy, stake a node, register a pod, deposit credits,
// settle a batch, and read every balance back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, type Hex, keccak256, parseEther, toHex, zeroAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressBook } from '../../src/chain/address-book.ts';
import { type Anvil, startAnvil } from '../../src/chain/anvil.ts';
import {
  chainFor,
  type NeurinoPublicClient,
  publicClientFor,
  walletClientFor,
} from '../../src/chain/clients.ts';
import { deployProtocol } from '../../src/chain/deploy.ts';
import { defaultDeployParams } from '../../src/chain/deploy-params.ts';
import { devAccount, devRoleAccount } from '../../src/chain/dev-accounts.ts';
import {
  computeCreditsAbi,
  neurinoTokenAbi,
  nodeRegistryAbi,
  podRegistryAbi,
  settlementAbi,
  stakedNeurinoAbi,
} from '../../src/chain/generated/index.ts';
import { aggregateReceipts } from '../../src/orchestration/settlement/aggregate.ts';
import { freePort } from '../support/free-port.ts';

const deployer = devRoleAccount('deployer');
const router = devRoleAccount('router');
const podDeployer = devRoleAccount('podDeployer');
const frontend = devRoleAccount('frontend');
const developer = devRoleAccount('developer');
const node = devAccount(10);
const operator = devAccount(11);

let anvil: Anvil;
let book: AddressBook;
let publicClient: NeurinoPublicClient;
let chain: ReturnType<typeof chainFor>;
const dir = await mkdtemp(join(tmpdir(), 'neurino-flow-'));

async function send(
  account: typeof deployer,
  request: { address: Address; abi: readonly unknown[]; functionName: string; args: readonly unknown[] },
) {
  const wallet = walletClientFor(chain, account);
  // biome-ignore lint/suspicious/noExplicitAny: the request is typed at each call site through the ABI
  const hash = await wallet.writeContract(request as any);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
  return receipt;
}

beforeAll(async () => {
  anvil = await startAnvil({ port: await freePort() });
  chain = chainFor(anvil.chainId, anvil.rpcUrl);
  publicClient = publicClientFor(chain);
  book = await deployProtocol(
    { publicClient, walletClient: walletClientFor(chain, deployer) },
    defaultDeployParams({ governance: deployer.address, router: router.address, treasury: deployer.address }),
  );
});

afterAll(async () => {
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('protocol on anvil', () => {
  it('mints exactly 1e27 NEU to the allocations', async () => {
    const { neurinoToken, emissionVault } = book.contracts;
    const read = (args: [Address]) =>
      publicClient.readContract({
        address: neurinoToken,
        abi: neurinoTokenAbi,
        functionName: 'balanceOf',
        args,
      });
    expect(
      await publicClient.readContract({
        address: neurinoToken,
        abi: neurinoTokenAbi,
        functionName: 'totalSupply',
      }),
    ).toBe(10n ** 27n);
    expect(await read([emissionVault])).toBe(parseEther('500000000'));
  });

  it('stakes a node, deposits credits, settles a batch once, and pays every party', async () => {
    const { neurinoToken, nodeRegistry, podRegistry, computeCredits, settlement, stakedNeurino } =
      book.contracts;
    const token = { address: neurinoToken, abi: neurinoTokenAbi } as const;
    const stake = parseEther('2000');
    await send(deployer, { ...token, functionName: 'transfer', args: [node.address, stake] });
    await send(deployer, {
      ...token,
      functionName: 'transfer',
      args: [developer.address, parseEther('100')],
    });

    await send(node, { ...token, functionName: 'approve', args: [nodeRegistry, stake] });
    await send(node, {
      address: nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: 'register',
      args: [operator.address, keccak256(toHex('gpu: none, vram: 0')), stake],
    });
    expect(
      await publicClient.readContract({
        address: nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: 'isActive',
        args: [node.address],
      }),
    ).toBe(true);
    expect(
      await publicClient.readContract({ ...token, functionName: 'balanceOf', args: [nodeRegistry] }),
    ).toBe(stake);

    const podId = keccak256(toHex('neurino-tiny pod spec digest'));
    const params = {
      runtime: 0,
      validation: 2,
      deterministic: false,
      minVramMiB: 0,
      deployerShareBps: 2_000,
      minReplicas: 0,
      maxReplicas: 4,
      pricePerUnit: 1_000n,
    };
    await send(podDeployer, {
      address: podRegistry,
      abi: podRegistryAbi,
      functionName: 'register',
      args: [podId, params],
    });

    const deposit = parseEther('50');
    await send(developer, { ...token, functionName: 'approve', args: [computeCredits, deposit] });
    await send(developer, {
      address: computeCredits,
      abi: computeCreditsAbi,
      functionName: 'deposit',
      args: [deposit],
    });

    const prices = [parseEther('1'), parseEther('2'), parseEther('0.5')];
    const receipts = prices.map((price, i) => ({
      payer: developer.address,
      podId,
      node: node.address,
      frontend: i === 2 ? zeroAddress : frontend.address,
      price,
      computeUnits: 1_000n * BigInt(i + 1),
    }));
    const aggregated = aggregateReceipts(receipts);
    const batch = {
      sequence: 0n,
      receiptsRoot: keccak256(toHex('root')) as Hex,
      receiptCount: receipts.length,
      debits: aggregated.debits,
      lines: aggregated.lines,
    };
    await send(router, { address: settlement, abi: settlementAbi, functionName: 'settle', args: [batch] });

    const total = parseEther('3.5');
    const deployerCut = (total * 2_000n) / 10_000n;
    const frontendCut = (parseEther('3') * 1_000n) / 10_000n;
    const buyback = (parseEther('3') * 500n) / 10_000n + (parseEther('0.5') * 500n) / 10_000n;
    const nodeCut = total - deployerCut - frontendCut - buyback;
    const earnings = (who: Address) =>
      publicClient.readContract({
        address: settlement,
        abi: settlementAbi,
        functionName: 'earningsOf',
        args: [who],
      });

    expect(
      await publicClient.readContract({
        address: computeCredits,
        abi: computeCreditsAbi,
        functionName: 'balanceOf',
        args: [developer.address],
      }),
    ).toBe(deposit - total);
    expect(await earnings(node.address)).toBe(nodeCut);
    expect(await earnings(podDeployer.address)).toBe(deployerCut);
    expect(await earnings(frontend.address)).toBe(frontendCut);
    expect(
      await publicClient.readContract({
        address: stakedNeurino,
        abi: stakedNeurinoAbi,
        functionName: 'totalAssets',
      }),
    ).toBe(buyback);
    expect(await publicClient.readContract({ ...token, functionName: 'balanceOf', args: [settlement] })).toBe(
      total - buyback,
    );

    // Resubmitting the same sequence (a router restarting mid-flight) is a no-op.
    const replay = await publicClient.simulateContract({
      account: router,
      address: settlement,
      abi: settlementAbi,
      functionName: 'settle',
      args: [batch],
    });
    expect(replay.result).toBe(false);
    await send(router, { address: settlement, abi: settlementAbi, functionName: 'settle', args: [batch] });
    expect(await earnings(node.address)).toBe(nodeCut);
    expect(
      await publicClient.readContract({
        address: settlement,
        abi: settlementAbi,
        functionName: 'nextSequence',
        args: [router.address],
      }),
    ).toBe(1n);

    await send(node, { address: settlement, abi: settlementAbi, functionName: 'claim', args: [] });
    expect(
      await publicClient.readContract({ ...token, functionName: 'balanceOf', args: [node.address] }),
    ).toBe(nodeCut);
    expect(await earnings(node.address)).toBe(0n);
  });

  it('refuses a batch from an address without the router role', async () => {
    const { settlement } = book.contracts;
    const batch = {
      sequence: 1n,
      receiptsRoot: keccak256(toHex('x')),
      receiptCount: 0,
      debits: [],
      lines: [],
    };
    await expect(
      publicClient.simulateContract({
        account: developer,
        address: settlement,
        abi: settlementAbi,
        functionName: 'settle',
        args: [batch],
      }),
    ).rejects.toThrow(/AccessControlUnauthorizedAccount/);
  });
});
