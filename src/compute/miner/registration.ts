// The node's standing in NodeRegistry, and registering + staking it (`neurino miner register --stake N`).
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  formatEther,
  type Hex,
  InsufficientFundsError,
  zeroHash,
} from 'viem';
import type { NeurinoPublicClient, NeurinoWalletClient } from '../../chain/clients.ts';
import { neurinoTokenAbi, nodeRegistryAbi } from '../../chain/generated/index.ts';
import { MinerError } from './errors.ts';

export const NODE_STATUSES = ['none', 'active', 'exiting', 'jailed'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export interface NodeStanding {
  readonly node: Address;
  readonly status: NodeStatus;
  readonly operator: Address;
  readonly stake: bigint;
  readonly minStake: bigint;
  /** What the router admits: Active with stake >= minStake. */
  readonly active: boolean;
}

/** Why the router would refuse this node, in the router's own codes; undefined when it is admissible. */
export type StandingProblem = {
  code: 'node_not_registered' | 'node_not_staked' | 'node_jailed';
  reason: string;
};

export async function readNodeStanding(p: {
  publicClient: NeurinoPublicClient;
  nodeRegistry: Address;
  node: Address;
}): Promise<NodeStanding> {
  const registry = { address: p.nodeRegistry, abi: nodeRegistryAbi } as const;
  try {
    const [info, active, minStake] = await Promise.all([
      p.publicClient.readContract({ ...registry, functionName: 'nodeInfo', args: [p.node] }),
      p.publicClient.readContract({ ...registry, functionName: 'isActive', args: [p.node] }),
      p.publicClient.readContract({ ...registry, functionName: 'minStake' }),
    ]);
    const status = NODE_STATUSES[info.status] ?? 'none';
    return { node: p.node, status, operator: info.operator, stake: info.stake, minStake, active };
  } catch (cause) {
    throw chainError(`cannot read node ${p.node} from NodeRegistry ${p.nodeRegistry}`, cause);
  }
}

export function standingProblem(standing: NodeStanding): StandingProblem | undefined {
  if (standing.active) return undefined;
  const { node, stake, minStake } = standing;
  switch (standing.status) {
    case 'none':
      return {
        code: 'node_not_registered',
        reason: `node ${node} is not registered; run: neurino miner register --stake ${formatEther(minStake)}`,
      };
    case 'jailed':
      return { code: 'node_jailed', reason: `node ${node} is jailed; only governance can release it` };
    default:
      return {
        code: 'node_not_staked',
        reason: `node ${node} stakes ${formatEther(stake)} NEU, below the minimum ${formatEther(minStake)} NEU`,
      };
  }
}

export interface RegisterNodeParams {
  readonly publicClient: NeurinoPublicClient;
  /** Its account is the node key: NodeRegistry registers msg.sender. */
  readonly walletClient: NeurinoWalletClient;
  readonly nodeRegistry: Address;
  /** NEU (wei) to stake: the whole initial stake, or the top-up of a node below the minimum. */
  readonly stake: bigint;
  /** Receives withdrawals; defaults to the node itself. */
  readonly operator?: Address;
  /** Hash of the node's off-chain metadata (e.g. its capabilities). */
  readonly metadataHash?: Hex;
}

export interface RegisterNodeResult {
  /** `none` when the node was already active: nothing was sent. */
  readonly action: 'registered' | 'staked' | 'none';
  readonly transactions: Hex[];
  readonly standing: NodeStanding;
}

/** Approves NEU and registers (or tops up) the node, with a clear error when it lacks NEU or gas. */
export async function registerNode(params: RegisterNodeParams): Promise<RegisterNodeResult> {
  const { publicClient, walletClient, nodeRegistry, stake } = params;
  const node = walletClient.account.address;
  const before = await readNodeStanding({ publicClient, nodeRegistry, node });
  if (before.active) return { action: 'none', transactions: [], standing: before };
  if (before.status === 'jailed')
    throw new MinerError('node_jailed', standingProblem(before)?.reason ?? 'jailed');
  if (stake <= 0n) throw new MinerError('stake_below_minimum', 'the stake must be more than 0 NEU');
  const after = before.status === 'none' ? stake : before.stake + stake;
  if (after < before.minStake) {
    throw new MinerError(
      'stake_below_minimum',
      `a stake of ${formatEther(after)} NEU is below the registry's minimum of ${formatEther(before.minStake)} NEU`,
      { details: { stake: after.toString(), minStake: before.minStake.toString() } },
    );
  }
  const token = await read(() =>
    publicClient.readContract({ address: nodeRegistry, abi: nodeRegistryAbi, functionName: 'neu' }),
  );
  await checkFunds(publicClient, token, node, stake);

  const transactions: Hex[] = [];
  const send = async (what: string, write: () => Promise<Hex>) => {
    transactions.push(await sendAndWait(publicClient, node, what, write));
  };
  const approval = await approveNeu({ publicClient, walletClient, token, nodeRegistry, amount: stake });
  if (approval !== undefined) transactions.push(approval);
  const registry = { address: nodeRegistry, abi: nodeRegistryAbi } as const;
  if (before.status === 'none') {
    const args = [params.operator ?? node, params.metadataHash ?? zeroHash, stake] as const;
    await send('registering the node', () =>
      walletClient.writeContract({ ...registry, functionName: 'register', args }),
    );
  } else {
    await send('adding stake', () =>
      walletClient.writeContract({ ...registry, functionName: 'addStake', args: [node, stake] }),
    );
  }
  const standing = await readNodeStanding({ publicClient, nodeRegistry, node });
  return { action: before.status === 'none' ? 'registered' : 'staked', transactions, standing };
}

/** Sends a write and waits for it to be mined; a failure in words (no gas, the revert's custom error). */
export async function sendAndWait(
  publicClient: NeurinoPublicClient,
  signer: Address,
  what: string,
  write: () => Promise<Hex>,
): Promise<Hex> {
  let hash: Hex;
  try {
    hash = await write();
  } catch (cause) {
    throw sendError(what, signer, cause);
  }
  const receipt = await read(() => publicClient.waitForTransactionReceipt({ hash }));
  if (receipt.status !== 'success') throw new MinerError('chain_error', `${what} reverted (tx ${hash})`);
  return hash;
}

/** Approves `amount` NEU of the signer's for NodeRegistry unless its allowance covers it: the approval, if sent. */
export async function approveNeu(p: {
  publicClient: NeurinoPublicClient;
  walletClient: NeurinoWalletClient;
  token: Address;
  nodeRegistry: Address;
  amount: bigint;
}): Promise<Hex | undefined> {
  const owner = p.walletClient.account.address;
  const allowance = await read(() =>
    p.publicClient.readContract({
      address: p.token,
      abi: neurinoTokenAbi,
      functionName: 'allowance',
      args: [owner, p.nodeRegistry],
    }),
  );
  if (allowance >= p.amount) return undefined;
  return sendAndWait(p.publicClient, owner, 'approving NEU for NodeRegistry', () =>
    p.walletClient.writeContract({
      address: p.token,
      abi: neurinoTokenAbi,
      functionName: 'approve',
      args: [p.nodeRegistry, p.amount],
    }),
  );
}

/** Throws, in words, when `node` holds less NEU than `stake` or no native token for gas. */
async function checkFunds(publicClient: NeurinoPublicClient, token: Address, node: Address, stake: bigint) {
  const [neu, gas] = await read(() =>
    Promise.all([
      publicClient.readContract({
        address: token,
        abi: neurinoTokenAbi,
        functionName: 'balanceOf',
        args: [node],
      }),
      publicClient.getBalance({ address: node }),
    ]),
  );
  if (neu < stake) {
    throw new MinerError(
      'insufficient_neu',
      `node ${node} holds ${formatEther(neu)} NEU but the stake needs ${formatEther(stake)} NEU; send NEU to it first`,
      { details: { balance: neu.toString(), stake: stake.toString() } },
    );
  }
  if (gas === 0n) {
    throw new MinerError(
      'insufficient_gas',
      `node ${node} has no native token to pay gas; send some to it first`,
    );
  }
}

/** A chain read; its failure as a retryable chain_error. */
export async function read<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    throw chainError('chain read failed', cause);
  }
}

/** A failed send: no gas in words, else the chain's reason. */
function sendError(what: string, node: Address, cause: unknown): MinerError {
  if (cause instanceof BaseError && cause.walk((e) => e instanceof InsufficientFundsError)) {
    return new MinerError('insufficient_gas', `${what}: node ${node} cannot pay the gas; send it some`, {
      cause,
    });
  }
  return chainError(what, cause);
}

/** A chain failure as chain_error, with the revert's custom error name when there is one. */
function chainError(what: string, cause: unknown): MinerError {
  if (cause instanceof MinerError) return cause;
  let reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  if (cause instanceof BaseError) {
    const revert = cause.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName !== undefined) {
      reason = `reverted with ${revert.data.errorName}`;
    } else reason = cause.shortMessage;
  }
  return new MinerError('chain_error', `${what}: ${reason}`, { cause });
}
