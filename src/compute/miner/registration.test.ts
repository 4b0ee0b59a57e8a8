// Registration and stake on a real anvil with the protocol deployed, and a miner that registers on start.
import { type Address, keccak256, parseEther, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import type { AddressBook } from '../../chain/address-book.ts';
import { type Anvil, startAnvil } from '../../chain/anvil.ts';
import { chainFor, type NeurinoPublicClient, publicClientFor, walletClientFor } from '../../chain/clients.ts';
import { deployProtocol } from '../../chain/deploy.ts';
import { defaultDeployParams } from '../../chain/deploy-params.ts';
import { devAccount, devRoleAccount } from '../../chain/dev-accounts.ts';
import { neurinoTokenAbi, nodeRegistryAbi } from '../../chain/generated/index.ts';
import { MinerError } from './errors.ts';
import { readNodeStanding, registerNode, standingProblem } from './registration.ts';
import {
  newNodeAccount,
  startTestMiner,
  TEST_HARDWARE,
  type TinyPod,
  tinyPod,
} from './testing/miner-fixture.ts';
import { TestRouter } from './testing/test-router.ts';

const deployer = devRoleAccount('deployer');
const validator = devRoleAccount('validator');
let anvil: Anvil;
let book: AddressBook;
let chain: ReturnType<typeof chainFor>;
let publicClient: NeurinoPublicClient;
let minStake: bigint;

beforeAll(async () => {
  anvil = await startAnvil({ port: await freePort() });
  chain = chainFor(anvil.chainId, anvil.rpcUrl);
  publicClient = publicClientFor(chain);
  book = await deployProtocol(
    { publicClient, walletClient: walletClientFor(chain, deployer) },
    defaultDeployParams({
      governance: deployer.address,
      router: devRoleAccount('router').address,
      validator: validator.address,
      treasury: deployer.address,
    }),
  );
  minStake = await publicClient.readContract({
    address: book.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: 'minStake',
  });
});

afterAll(async () => {
  await anvil?.stop();
});

async function sendNeu(to: Address, amount: bigint): Promise<void> {
  const hash = await walletClientFor(chain, deployer).writeContract({
    address: book.contracts.neurinoToken,
    abi: neurinoTokenAbi,
    functionName: 'transfer',
    args: [to, amount],
  });
  await publicClient.waitForTransactionReceipt({ hash });
}

function register(account: ReturnType<typeof devAccount> | ReturnType<typeof newNodeAccount>, stake: bigint) {
  return registerNode({
    publicClient,
    walletClient: walletClientFor(chain, account),
    nodeRegistry: book.contracts.nodeRegistry,
    stake,
  });
}

async function failure(promise: Promise<unknown>): Promise<MinerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MinerError);
  return error as MinerError;
}

describe('node standing', () => {
  it('reads an unknown node as not registered, saying how to register', async () => {
    const node = newNodeAccount().address;
    const standing = await readNodeStanding({
      publicClient,
      nodeRegistry: book.contracts.nodeRegistry,
      node,
    });
    expect(standing).toMatchObject({ node, status: 'none', stake: 0n, minStake, active: false });
    const problem = standingProblem(standing);
    expect(problem?.code).toBe('node_not_registered');
    expect(problem?.reason).toContain('neurino miner register --stake 1000');
  });

  it('reports a chain it cannot read as a retryable chain_error', async () => {
    const error = await failure(
      readNodeStanding({
        publicClient,
        nodeRegistry: book.contracts.settlement,
        node: newNodeAccount().address,
      }),
    );
    expect(error).toMatchObject({ code: 'chain_error', retryable: true });
  });
});

describe('registerNode', () => {
  it('refuses a stake below the minimum before sending anything', async () => {
    const error = await failure(register(devAccount(12), minStake - 1n));
    expect(error.code).toBe('stake_below_minimum');
    expect(error.message).toContain('minimum of 1000 NEU');
  });

  it('says so when the key has no NEU', async () => {
    const error = await failure(register(devAccount(13), minStake));
    expect(error.code).toBe('insufficient_neu');
    expect(error.message).toContain(
      `node ${devAccount(13).address} holds 0 NEU but the stake needs 1000 NEU`,
    );
  });

  it('says so when the key has NEU but no gas', async () => {
    const fresh = newNodeAccount();
    await sendNeu(fresh.address, minStake);
    const error = await failure(register(fresh, minStake));
    expect(error.code).toBe('insufficient_gas');
    expect(error.message).toContain('no native token to pay gas');
  });

  it('approves and registers, then has nothing left to do', async () => {
    const node = devAccount(14);
    await sendNeu(node.address, minStake * 2n);
    const first = await register(node, minStake);
    expect(first.action).toBe('registered');
    expect(first.transactions).toHaveLength(2);
    expect(first.standing).toMatchObject({
      status: 'active',
      active: true,
      stake: minStake,
      operator: node.address,
    });
    expect(standingProblem(first.standing)).toBeUndefined();
    const again = await register(node, minStake);
    expect(again).toMatchObject({ action: 'none', transactions: [] });
  });

  it('reports a jailed node and refuses to stake it', async () => {
    const node = devAccount(15);
    await sendNeu(node.address, minStake);
    await register(node, minStake);
    const hash = await walletClientFor(chain, validator).writeContract({
      address: book.contracts.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: 'slash',
      args: [node.address, 0n, keccak256(toHex('evidence')), validator.address],
    });
    await publicClient.waitForTransactionReceipt({ hash });
    const standing = await readNodeStanding({
      publicClient,
      nodeRegistry: book.contracts.nodeRegistry,
      node: node.address,
    });
    expect(standing.status).toBe('jailed');
    expect(standingProblem(standing)?.code).toBe('node_jailed');
    expect((await failure(register(node, minStake))).code).toBe('node_jailed');
  });
});

describe('a miner with a chain', () => {
  let pod: TinyPod;
  let router: TestRouter;

  beforeAll(async () => {
    pod = await tinyPod();
    // The router admits exactly what NodeRegistry says, as the real one does.
    router = await TestRouter.start({
      domain: { chainId: anvil.chainId, verifyingContract: book.contracts.settlement },
      admit: async (node) => {
        const standing = await readNodeStanding({
          publicClient,
          nodeRegistry: book.contracts.nodeRegistry,
          node,
        });
        const problem = standingProblem(standing);
        return problem === undefined ? { ok: true } : { ok: false, ...problem };
      },
    });
  });

  afterAll(async () => {
    await router?.close();
    await pod?.cleanup();
  });

  const domain = () => ({ chainId: anvil.chainId, verifyingContract: book.contracts.settlement });

  it('registers and stakes on start, then is admitted', async () => {
    const node = devAccount(16);
    await sendNeu(node.address, parseEther('1500'));
    const { miner, lines } = await startTestMiner(pod, router.url, {
      account: node,
      domain: domain(),
      hardware: TEST_HARDWARE,
      chain: {
        rpcUrl: anvil.rpcUrl,
        nodeRegistry: book.contracts.nodeRegistry,
        registerOnStart: { stake: parseEther('1500') },
      },
    });
    try {
      await miner.connected();
      expect(lines.some((l) => l.msg === 'node registered: stake 1500 NEU')).toBe(true);
      const info = await publicClient.readContract({
        address: book.contracts.nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: 'nodeInfo',
        args: [node.address],
      });
      expect(info.stake).toBe(parseEther('1500'));
    } finally {
      await miner.stop();
    }
  });

  it('warns before connecting when unregistered, and stops when the router refuses it', async () => {
    const { miner, lines } = await startTestMiner(pod, router.url, {
      domain: domain(),
      chain: { rpcUrl: anvil.rpcUrl, nodeRegistry: book.contracts.nodeRegistry },
    });
    const exit = await miner.done;
    expect(exit.refusal?.code).toBe('node_not_registered');
    const warning = lines.find((l) => l.msg.startsWith('the router will refuse this node'));
    expect(warning?.code).toBe('node_not_registered');
  });

  it('fails to start when registering on start fails', async () => {
    await expect(
      startTestMiner(pod, router.url, {
        domain: domain(),
        chain: {
          rpcUrl: anvil.rpcUrl,
          nodeRegistry: book.contracts.nodeRegistry,
          registerOnStart: { stake: parseEther('1000') },
        },
      }),
    ).rejects.toMatchObject({ code: 'insufficient_neu' });
  });
});
