// A node's stake after registering, on anvil with the protocol deployed: its status, more stake,
// unbonding (part, or all of it to leave) and withdrawing to the operator after the delay, each refusal
// told in words before anything is sent; the node's operator may act for it, nobody else.
import { type Address, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { devAccount, devRoleAccount } from '../../chain/dev-accounts.ts';
import { neurinoTokenAbi } from '../../chain/generated/index.ts';
import {
  type ProtocolFixture,
  startProtocolFixture,
} from '../../orchestration/settlement/testing/protocol-fixture.ts';
import { MinerError } from './errors.ts';
import {
  addNodeStake,
  describeSeconds,
  readNodeStake,
  unbondNodeStake,
  withdrawNodeStake,
} from './node-stake.ts';
import { registerNode } from './registration.ts';
import { newNodeAccount } from './testing/miner-fixture.ts';

const MIN = parseEther('1000');
const DAY = 86_400;
let fixture: ProtocolFixture;

beforeAll(async () => {
  fixture = await startProtocolFixture(await freePort());
  for (const index of [20, 21, 22, 23]) await fixture.giveEth(devAccount(index).address, parseEther('10'));
});

afterAll(async () => {
  await fixture?.stop();
});

const neuOf = (account: Address) =>
  fixture.publicClient.readContract({
    address: fixture.book.contracts.neurinoToken,
    abi: neurinoTokenAbi,
    functionName: 'balanceOf',
    args: [account],
  });

async function sendNeu(to: Address, amount: bigint) {
  await fixture.write(devRoleAccount('deployer'), {
    address: fixture.book.contracts.neurinoToken,
    abi: neurinoTokenAbi,
    functionName: 'transfer',
    args: [to, amount],
  });
}

const on = (node: Address, signer: Parameters<ProtocolFixture['walletFor']>[0]) => ({
  publicClient: fixture.publicClient,
  nodeRegistry: fixture.book.contracts.nodeRegistry,
  node,
  walletClient: fixture.walletFor(signer),
});

async function refusal(promise: Promise<unknown>): Promise<MinerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MinerError);
  return error as MinerError;
}

describe('a node’s stake', () => {
  it('reads what the registry holds, adds stake, and refuses to add to a node never registered', async () => {
    const node = devAccount(20);
    await fixture.registerNode(node, MIN);
    const stake = await readNodeStake(on(node.address, node));
    expect(stake).toMatchObject({
      node: node.address,
      status: 'active',
      active: true,
      operator: node.address,
      stake: MIN,
      minStake: MIN,
      unbonding: 0n,
      unbondingDelay: 7 * DAY,
    });
    expect(stake.registeredAt).toBeGreaterThan(0);

    await sendNeu(node.address, parseEther('500'));
    const added = await addNodeStake({ ...on(node.address, node), amount: parseEther('500') });
    expect(added.stake.stake).toBe(parseEther('1500'));
    expect(added.transactions).toHaveLength(2);
    const short = await refusal(addNodeStake({ ...on(node.address, node), amount: parseEther('1') }));
    expect(short).toMatchObject({ code: 'insufficient_neu' });
    expect(short.message).toContain('holds 0 NEU, less than the 1 NEU to add');
    const stranger = newNodeAccount().address;
    expect((await refusal(addNodeStake({ ...on(stranger, node), amount: 1n }))).message).toContain(
      `node ${stranger} is not registered`,
    );
  });

  it('unbonds part or all, then withdraws to the operator once the delay has passed', async () => {
    const node = devAccount(21);
    const operator = devAccount(22);
    await sendNeu(node.address, MIN * 2n);
    await registerNode({
      publicClient: fixture.publicClient,
      walletClient: fixture.walletFor(node),
      nodeRegistry: fixture.book.contracts.nodeRegistry,
      stake: MIN * 2n,
      operator: operator.address,
    });

    const below = await refusal(unbondNodeStake({ ...on(node.address, node), amount: parseEther('1500') }));
    expect(below.code).toBe('stake_below_minimum');
    expect(below.message).toBe(
      '500 NEU would stay bonded, below the minimum of 1000 NEU: unbond all 2000 NEU to leave, or at most 1000 NEU to stay',
    );
    const tooMuch = await refusal(unbondNodeStake({ ...on(node.address, node), amount: MIN * 3n }));
    expect(tooMuch.message).toContain('has 2000 NEU bonded, less than the 3000 NEU asked');
    const stranger = devAccount(23);
    const notTheirs = await refusal(unbondNodeStake({ ...on(node.address, stranger), amount: 'all' }));
    expect(notTheirs.message).toContain(
      `${stranger.address} is neither node ${node.address} nor its operator`,
    );

    const part = await unbondNodeStake({ ...on(node.address, node), amount: MIN });
    expect(part.stake).toMatchObject({ status: 'active', active: true, stake: MIN, unbonding: MIN });
    // The operator leaves for the node: nothing stays bonded, the node is no longer admitted.
    const all = await unbondNodeStake({ ...on(node.address, operator), amount: 'all' });
    expect(all.stake).toMatchObject({ status: 'exiting', active: false, stake: 0n, unbonding: MIN * 2n });

    const early = await refusal(withdrawNodeStake(on(node.address, operator)));
    expect(early.message).toMatch(/^the 2000 NEU unbonding frees at \S+Z \(in (7 d|6 d 23 h)\)$/);
    await fixture.advanceTime(7 * DAY);
    const before = await neuOf(operator.address);
    const paid = await withdrawNodeStake(on(node.address, node));
    expect(paid).toMatchObject({ amount: MIN * 2n, operator: operator.address });
    expect((await neuOf(operator.address)) - before).toBe(MIN * 2n);
    expect((await refusal(withdrawNodeStake(on(node.address, node)))).message).toContain(
      'has nothing unbonding: unbond first',
    );
    expect((await refusal(unbondNodeStake({ ...on(node.address, node), amount: 'all' }))).message).toContain(
      'has no bonded stake to unbond',
    );
  });

  it('tells durations in words', () => {
    expect(describeSeconds(7 * DAY)).toBe('7 d');
    expect(describeSeconds(7 * DAY - 30)).toBe('6 d 23 h');
    expect(describeSeconds(3 * 3_600)).toBe('3 h');
    expect(describeSeconds(5 * 3_600 + 150)).toBe('5 h 2 min');
    expect(describeSeconds(125)).toBe('2 min');
    expect(describeSeconds(40)).toBe('40 s');
  });
});
