// A registered node's stake over its life (`neurino miner status|add-stake|unbond|withdraw`): what
// NodeRegistry holds (bonded, unbonding and when it frees), more stake, unbonding (all of it to leave the
// network) and withdrawing to the operator once the unbonding delay has passed. Each refusal the
// registry would make is told in words before anything is sent; the node or its operator signs.
import { type Address, formatEther, type Hex, isAddressEqual } from 'viem';
import type { NeurinoPublicClient, NeurinoWalletClient } from '../../chain/clients.ts';
import { neurinoTokenAbi, nodeRegistryAbi } from '../../chain/generated/index.ts';
import { MinerError } from './errors.ts';
import { approveNeu, type NodeStanding, read, readNodeStanding, sendAndWait } from './registration.ts';

export interface NodeStake extends NodeStanding {
  /** NEU waiting out the unbonding delay (still slashable), and the Unix second it frees. */
  readonly unbonding: bigint;
  readonly unbondingEnd: number;
  readonly registeredAt: number;
  /** Seconds an unbonding waits. */
  readonly unbondingDelay: number;
}

interface StakeTarget {
  readonly publicClient: NeurinoPublicClient;
  readonly nodeRegistry: Address;
  readonly node: Address;
}

interface StakeWrite extends StakeTarget {
  /** The node itself or its operator (anyone may add stake). */
  readonly walletClient: NeurinoWalletClient;
}

const registryOf = (nodeRegistry: Address) => ({ address: nodeRegistry, abi: nodeRegistryAbi }) as const;

export async function readNodeStake(target: StakeTarget): Promise<NodeStake> {
  const registry = registryOf(target.nodeRegistry);
  const [standing, info, delay] = await Promise.all([
    readNodeStanding(target),
    read(() =>
      target.publicClient.readContract({ ...registry, functionName: 'nodeInfo', args: [target.node] }),
    ),
    read(() => target.publicClient.readContract({ ...registry, functionName: 'unbondingDelay' })),
  ]);
  return {
    ...standing,
    unbonding: info.unbonding,
    unbondingEnd: Number(info.unbondingEnd),
    registeredAt: Number(info.registeredAt),
    unbondingDelay: Number(delay),
  };
}

/** Adds `amount` NEU from the signer to the node's stake (approving it first); an exiting node with enough returns. */
export async function addNodeStake(
  p: StakeWrite & { amount: bigint },
): Promise<{ stake: NodeStake; transactions: Hex[] }> {
  const before = await readNodeStake(p);
  if (before.status === 'none') throw notRegistered(p.node);
  if (p.amount <= 0n) throw new MinerError('invalid_config', 'the stake to add must be more than 0 NEU');
  const payer = p.walletClient.account.address;
  const token = await read(() =>
    p.publicClient.readContract({ ...registryOf(p.nodeRegistry), functionName: 'neu' }),
  );
  const [balance, gas] = await read(() =>
    Promise.all([
      p.publicClient.readContract({
        address: token,
        abi: neurinoTokenAbi,
        functionName: 'balanceOf',
        args: [payer],
      }),
      p.publicClient.getBalance({ address: payer }),
    ]),
  );
  if (balance < p.amount) {
    throw new MinerError(
      'insufficient_neu',
      `${payer} holds ${formatEther(balance)} NEU, less than the ${formatEther(p.amount)} NEU to add`,
    );
  }
  if (gas === 0n) throw new MinerError('insufficient_gas', `${payer} has no native token to pay gas`);
  const transactions: Hex[] = [];
  const approval = await approveNeu({ ...p, token, amount: p.amount });
  if (approval !== undefined) transactions.push(approval);
  transactions.push(
    await sendAndWait(p.publicClient, p.walletClient.account.address, 'adding stake', () =>
      p.walletClient.writeContract({
        ...registryOf(p.nodeRegistry),
        functionName: 'addStake',
        args: [p.node, p.amount],
      }),
    ),
  );
  return { stake: await readNodeStake(p), transactions };
}

/**
 * Starts unbonding `amount` NEU, or all of the stake (the node then leaves: it is no longer admitted).
 * What stays bonded must be nothing or at least the minimum; the whole unbonding frees after the delay.
 */
export async function unbondNodeStake(
  p: StakeWrite & { amount: bigint | 'all' },
): Promise<{ stake: NodeStake; transactions: Hex[] }> {
  const before = await readNodeStake(p);
  if (before.status === 'none') throw notRegistered(p.node);
  assertController(p, before);
  const amount = p.amount === 'all' ? before.stake : p.amount;
  if (amount <= 0n) {
    throw new MinerError('invalid_config', `node ${p.node} has no bonded stake to unbond`);
  }
  if (amount > before.stake) {
    throw new MinerError(
      'invalid_config',
      `node ${p.node} has ${formatEther(before.stake)} NEU bonded, less than the ${formatEther(amount)} NEU asked`,
    );
  }
  const left = before.stake - amount;
  if (left !== 0n && left < before.minStake) {
    const most = before.stake - before.minStake;
    throw new MinerError(
      'stake_below_minimum',
      `${formatEther(left)} NEU would stay bonded, below the minimum of ${formatEther(before.minStake)} NEU: ` +
        `unbond all ${formatEther(before.stake)} NEU to leave, or at most ${formatEther(most > 0n ? most : 0n)} NEU to stay`,
    );
  }
  const hash = await sendAndWait(p.publicClient, p.walletClient.account.address, 'unbonding', () =>
    p.walletClient.writeContract({
      ...registryOf(p.nodeRegistry),
      functionName: 'unbond',
      args: [p.node, amount],
    }),
  );
  return { stake: await readNodeStake(p), transactions: [hash] };
}

/** Pays the node's unbonded NEU to its operator, once the unbonding delay has passed. */
export async function withdrawNodeStake(
  p: StakeWrite,
): Promise<{ amount: bigint; operator: Address; transactions: Hex[] }> {
  const before = await readNodeStake(p);
  if (before.status === 'none') throw notRegistered(p.node);
  assertController(p, before);
  if (before.unbonding === 0n) {
    throw new MinerError('invalid_config', `node ${p.node} has nothing unbonding: unbond first`);
  }
  const now = Number((await read(() => p.publicClient.getBlock())).timestamp);
  if (now < before.unbondingEnd) {
    throw new MinerError(
      'invalid_config',
      `the ${formatEther(before.unbonding)} NEU unbonding frees at ${new Date(before.unbondingEnd * 1_000).toISOString()} ` +
        `(in ${describeSeconds(before.unbondingEnd - now)})`,
      { details: { unbondingEnd: before.unbondingEnd } },
    );
  }
  const hash = await sendAndWait(p.publicClient, p.walletClient.account.address, 'withdrawing', () =>
    p.walletClient.writeContract({ ...registryOf(p.nodeRegistry), functionName: 'withdraw', args: [p.node] }),
  );
  return { amount: before.unbonding, operator: before.operator, transactions: [hash] };
}

function assertController(p: StakeWrite, stake: NodeStake): void {
  const signer = p.walletClient.account.address;
  if (!isAddressEqual(signer, p.node) && !isAddressEqual(signer, stake.operator)) {
    throw new MinerError(
      'invalid_config',
      `${signer} is neither node ${p.node} nor its operator ${stake.operator}: sign with one of their keys`,
    );
  }
}

function notRegistered(node: Address): MinerError {
  return new MinerError('invalid_config', `node ${node} is not registered: neurino miner register --stake N`);
}

/** "7 d", "6 d 23 h", "5 h 2 min", "40 s". */
export function describeSeconds(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3_600);
  const m = Math.floor((seconds % 3_600) / 60);
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${Math.max(0, seconds)} s`;
}
