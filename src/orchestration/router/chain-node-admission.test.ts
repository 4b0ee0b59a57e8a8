// Admission against the real NodeRegistry on anvil: registered and staked nodes are admitted; unknown,
// jailed and under-staked ones are refused at the handshake with the reason, and dropped when it changes.
import { type Address, keccak256, parseEther, toHex, zeroAddress } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import type { AddressBook } from '../../chain/address-book.ts';
import { type Anvil, startAnvil } from '../../chain/anvil.ts';
import { chainFor, type NeurinoPublicClient, publicClientFor, walletClientFor } from '../../chain/clients.ts';
import { deployProtocol } from '../../chain/deploy.ts';
import { defaultDeployParams } from '../../chain/deploy-params.ts';
import { devAccount, devRoleAccount } from '../../chain/dev-accounts.ts';
import { neurinoTokenAbi, nodeRegistryAbi } from '../../chain/generated/index.ts';
import { captureLogger } from '../../protocol/testing/capture-logger.ts';
import { admissionFromNodeInfo, chainNodeAdmission, NODE_STATUS } from './chain-node-admission.ts';
import { MinerHub } from './miner-hub.ts';
import { CLOSE_CODES } from './miner-socket.ts';
import type { NodeAdmission } from './node-admission.ts';
import { MinerPeer } from './testing/miner-peer.ts';
import { waitFor } from './testing/wait-for.ts';
import { type MinerEndpoint, serveMinerHub } from './testing/ws-loopback.ts';

const deployer = devRoleAccount('deployer');
const validator = devRoleAccount('validator');
const [staked, unknown, jailed, exited, underStaked] = [10, 11, 12, 13, 14].map((i) => devAccount(i)) as [
  HDAccount,
  HDAccount,
  HDAccount,
  HDAccount,
  HDAccount,
];
const MIN_STAKE = parseEther('1000');

let anvil: Anvil;
let book: AddressBook;
let publicClient: NeurinoPublicClient;
let chain: ReturnType<typeof chainFor>;
let admission: NodeAdmission;
let hub: MinerHub;
let endpoint: MinerEndpoint;

async function send(
  account: HDAccount,
  address: Address,
  abi: readonly unknown[],
  functionName: string,
  args: unknown[],
) {
  const wallet = walletClientFor(chain, account);
  // biome-ignore lint/suspicious/noExplicitAny: each call names a function of the generated ABI
  const hash = await wallet.writeContract({ address, abi, functionName, args } as any);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
}

async function register(node: HDAccount, stake: bigint) {
  const { neurinoToken, nodeRegistry } = book.contracts;
  await send(deployer, neurinoToken, neurinoTokenAbi, 'transfer', [node.address, stake]);
  await send(node, neurinoToken, neurinoTokenAbi, 'approve', [nodeRegistry, stake]);
  await send(node, nodeRegistry, nodeRegistryAbi, 'register', [
    node.address,
    keccak256(toHex('cpu node')),
    stake,
  ]);
}

function handshake(account: HDAccount) {
  const domain = { chainId: anvil.chainId, verifyingContract: book.contracts.settlement };
  return MinerPeer.open({ url: endpoint.url, account, domain }).then(async (peer) => ({
    peer,
    answer: await peer.handshake(),
  }));
}

beforeAll(async () => {
  anvil = await startAnvil({ port: await freePort() });
  chain = chainFor(anvil.chainId, anvil.rpcUrl);
  publicClient = publicClientFor(chain);
  book = await deployProtocol(
    { publicClient, walletClient: walletClientFor(chain, deployer) },
    defaultDeployParams({
      governance: deployer.address,
      router: devRoleAccount('router').address,
      treasury: deployer.address,
      validator: validator.address,
      minStake: MIN_STAKE,
    }),
  );
  const { nodeRegistry } = book.contracts;
  await register(staked, parseEther('2000'));
  await register(jailed, parseEther('2000'));
  await send(validator, nodeRegistry, nodeRegistryAbi, 'slash', [
    jailed.address,
    parseEther('0.1'),
    keccak256(toHex('evidence')),
    zeroAddress,
  ]);
  await register(exited, parseEther('1500'));
  await send(exited, nodeRegistry, nodeRegistryAbi, 'unbond', [exited.address, parseEther('1500')]);
  await register(underStaked, MIN_STAKE);
  await send(deployer, nodeRegistry, nodeRegistryAbi, 'setMinStake', [parseEther('1200')]);

  admission = chainNodeAdmission({ publicClient, nodeRegistry });
  hub = new MinerHub({
    routerId: 'router-chain',
    domain: { chainId: anvil.chainId, verifyingContract: book.contracts.settlement },
    admission,
    logger: captureLogger().logger,
    readmitEveryMs: 0,
  });
  endpoint = await serveMinerHub(hub);
});

afterAll(async () => {
  await hub?.close({ graceMs: 0 });
  await endpoint?.close();
  await anvil?.stop();
});

describe('chainNodeAdmission on anvil', () => {
  it('admits a registered node with at least the minimum stake', async () => {
    expect(await admission.check(staked.address)).toEqual({ ok: true });
  });

  it('refuses an unknown, a jailed, an unbonded and an under-staked node, saying why', async () => {
    expect(await admission.check(unknown.address)).toMatchObject({
      ok: false,
      code: 'node_not_registered',
      reason: expect.stringContaining('not registered'),
    });
    expect(await admission.check(jailed.address)).toMatchObject({ ok: false, code: 'node_jailed' });
    expect(await admission.check(exited.address)).toMatchObject({
      ok: false,
      code: 'node_not_staked',
      reason: expect.stringContaining('exiting'),
    });
    expect(await admission.check(underStaked.address)).toMatchObject({
      ok: false,
      code: 'node_not_staked',
      reason: expect.stringContaining('1000 NEU bonded, below the minimum of 1200 NEU'),
    });
  });

  it('fails with a retryable chain_error when the registry cannot be read', async () => {
    const wrong = chainNodeAdmission({ publicClient, nodeRegistry: deployer.address });
    await expect(wrong.check(staked.address)).rejects.toMatchObject({ code: 'chain_error', retryable: true });
  });
});

describe('handshake with on-chain admission', () => {
  it('welcomes a staked node', async () => {
    const { peer, answer } = await handshake(staked);
    expect(answer.type).toBe('welcome');
    peer.close();
  });

  it.each([
    ['unregistered', () => unknown, 'node_not_registered'],
    ['jailed', () => jailed, 'node_jailed'],
    ['unbonded', () => exited, 'node_not_staked'],
    ['under-staked', () => underStaked, 'node_not_staked'],
  ] as const)('refuses an %s node with its code and closes', async (_, account, code) => {
    const { peer, answer } = await handshake(account());
    expect(answer).toMatchObject({ type: 'refused', code });
    expect(answer.type === 'refused' && answer.reason.length).toBeGreaterThan(10);
    expect((await peer.closed).code).toBe(CLOSE_CODES.policyViolation);
  });

  it('drops a connected node once it is slashed', async () => {
    const { peer, answer } = await handshake(staked);
    expect(answer.type).toBe('welcome');
    await waitFor(() => hub.session(staked.address) !== undefined);
    await send(validator, book.contracts.nodeRegistry, nodeRegistryAbi, 'slash', [
      staked.address,
      0n,
      keccak256(toHex('caught')),
      zeroAddress,
    ]);
    await hub.readmit();
    expect(await peer.next('refused')).toMatchObject({ code: 'node_jailed' });
    expect((await peer.closed).code).toBe(CLOSE_CODES.revoked);
    expect(hub.session(staked.address)).toBeUndefined();
  });
});

describe('admissionFromNodeInfo', () => {
  const node = staked.address;
  it('decides every status', () => {
    const at = (status: number, stake: bigint) => admissionFromNodeInfo(node, { status, stake }, MIN_STAKE);
    expect(at(NODE_STATUS.active, MIN_STAKE)).toEqual({ ok: true });
    expect(at(NODE_STATUS.active, MIN_STAKE - 1n)).toMatchObject({ code: 'node_not_staked' });
    expect(at(NODE_STATUS.none, 0n)).toMatchObject({ code: 'node_not_registered' });
    expect(at(NODE_STATUS.exiting, MIN_STAKE)).toMatchObject({ code: 'node_not_staked' });
    expect(at(NODE_STATUS.jailed, MIN_STAKE * 2n)).toMatchObject({ code: 'node_jailed' });
    expect(at(9, MIN_STAKE)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('unknown registry status 9'),
    });
  });
});
