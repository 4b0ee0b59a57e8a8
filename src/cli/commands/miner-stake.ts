// A node's life on-chain, as `neurino miner` subcommands: `register --stake N` (register and stake),
// `status` (what NodeRegistry holds, and whether the router would admit it), `add-stake N`, `unbond N|all`
// (all of it to leave the network) and `withdraw` (to the operator, once the unbonding delay passed).
// The node key signs; `--node` acts on another node as its operator, with the operator's key.
import { Command, InvalidArgumentError } from 'commander';
import { type Address, formatEther } from 'viem';
import { walletClientFor } from '../../chain/clients.ts';
import { hardwareDigest } from '../../compute/miner/chain-standing.ts';
import { probeHardware } from '../../compute/miner/hardware/probe.ts';
import { defaultNodeKeyFile, NODE_KEY_ENV, readNodeKeyFile } from '../../compute/miner/node-key.ts';
import {
  addNodeStake,
  describeSeconds,
  type NodeStake,
  readNodeStake,
  unbondNodeStake,
  withdrawNodeStake,
} from '../../compute/miner/node-stake.ts';
import { registerNode, standingProblem } from '../../compute/miner/registration.ts';
import {
  addressBook,
  type ChainOptions,
  connectChain,
  explicitOptions,
  nodeKey,
  parseStake,
  withChainOptions,
} from '../miner-chain.ts';
import { parseAddress } from '../options.ts';

interface RegisterOptions extends ChainOptions {
  stake?: bigint;
  operator?: Address;
}

interface StakeOptions extends ChainOptions {
  /** Another node, acted on as its operator. */
  node?: Address;
}

const neu = (wei: bigint) => `${formatEther(wei)} NEU`;

function withNode(command: Command): Command {
  return withChainOptions(command).option(
    '--node <address>',
    "act on this node as its operator, with the operator's --key (default: the key's own node)",
    parseAddress,
  );
}

/** The signer, the node it acts on, and the registry. */
async function target(options: StakeOptions) {
  const { account } = await nodeKey(options);
  const book = await addressBook(options);
  const { chain, publicClient } = await connectChain(options);
  return {
    publicClient,
    walletClient: walletClientFor(chain, account),
    nodeRegistry: book.contracts.nodeRegistry,
    node: options.node ?? account.address,
  };
}

/** The key's node, without making a key when there is none. */
async function existingNodeKey(options: StakeOptions): Promise<Address> {
  const envKey = process.env[NODE_KEY_ENV];
  if (options.key !== undefined || (envKey !== undefined && envKey !== '')) {
    return (await nodeKey(options)).account.address;
  }
  const path = options.keyFile ?? defaultNodeKeyFile(options.dataDir);
  const account = await readNodeKeyFile(path);
  if (account === undefined) {
    throw new InvalidArgumentError(`no node key at ${path}: pass --key, --key-file or --node <address>`);
  }
  return account.address;
}

export function minerStakeCommands(): Command[] {
  const register = withChainOptions(
    new Command('register').description('register the node key in NodeRegistry and stake NEU'),
  )
    .option('--stake <neu>', 'NEU to stake (at least the registry minimum); required', parseStake)
    .option('--operator <address>', 'operator receiving withdrawals (default: the node itself)', parseAddress)
    .action(async (_: unknown, cmd: Command) => {
      await runRegister(explicitOptions<RegisterOptions>(cmd));
    });

  const status = withNode(
    new Command('status').description('what NodeRegistry holds for the node, and whether a router admits it'),
  ).action(async (_: unknown, cmd: Command) => {
    const options = explicitOptions<StakeOptions>(cmd);
    // Reading needs no key: a node named by --node is looked at as it is, and none is made here.
    const node = options.node ?? (await existingNodeKey(options));
    const book = await addressBook(options);
    const { publicClient } = await connectChain(options);
    console.log(
      formatStake(await readNodeStake({ publicClient, nodeRegistry: book.contracts.nodeRegistry, node })),
    );
  });

  const addStake = withNode(
    new Command('add-stake').description("add NEU to the node's stake (from the key's account)"),
  )
    .argument('<neu>', 'NEU to add', parseStake)
    .action(async (amount: bigint, _: unknown, cmd: Command) => {
      const { stake, transactions } = await addNodeStake({
        ...(await target(explicitOptions<StakeOptions>(cmd))),
        amount,
      });
      console.log(`node ${stake.node} stakes ${neu(stake.stake)} (tx ${transactions.join(', ')})`);
    });

  const unbond = withNode(
    new Command('unbond').description(
      'start unbonding NEU (all: leave the network); it can be withdrawn after the unbonding delay',
    ),
  )
    .argument('<neu>', 'NEU to unbond, or "all"', (value: string) =>
      value === 'all' ? 'all' : parseStake(value),
    )
    .action(async (amount: bigint | 'all', _: unknown, cmd: Command) => {
      const { stake, transactions } = await unbondNodeStake({
        ...(await target(explicitOptions<StakeOptions>(cmd))),
        amount,
      });
      const frees = new Date(stake.unbondingEnd * 1_000).toISOString();
      console.log(
        `node ${stake.node}: ${neu(stake.unbonding)} unbonding until ${frees}, ${neu(stake.stake)} bonded` +
          `${stake.active ? '' : ' (no longer admitted by routers)'} (tx ${transactions.join(', ')})`,
      );
    });

  const withdraw = withNode(
    new Command('withdraw').description(
      "pay the node's unbonded NEU to its operator, once the delay has passed",
    ),
  ).action(async (_: unknown, cmd: Command) => {
    const { amount, operator, transactions } = await withdrawNodeStake(
      await target(explicitOptions<StakeOptions>(cmd)),
    );
    console.log(`${neu(amount)} withdrawn to ${operator} (tx ${transactions.join(', ')})`);
  });

  return [register, status, addStake, unbond, withdraw];
}

async function runRegister(options: RegisterOptions): Promise<void> {
  if (options.stake === undefined) throw new InvalidArgumentError('register needs --stake <neu>');
  const { account } = await nodeKey(options);
  const book = await addressBook(options);
  const { chain, publicClient } = await connectChain(options);
  const result = await registerNode({
    publicClient,
    walletClient: walletClientFor(chain, account),
    nodeRegistry: book.contracts.nodeRegistry,
    stake: options.stake,
    metadataHash: hardwareDigest(await probeHardware()),
    ...(options.operator === undefined ? {} : { operator: options.operator }),
  });
  const stake = formatEther(result.standing.stake);
  if (result.action === 'none')
    console.log(`node ${account.address} is already active with ${stake} NEU staked`);
  else
    console.log(
      `node ${account.address} ${result.action}: ${stake} NEU staked (tx ${result.transactions.join(', ')})`,
    );
}

/** The node's record for people: one fact per line. */
export function formatStake(stake: NodeStake, now = Date.now()): string {
  const problem = standingProblem(stake);
  const lines = [
    `node        ${stake.node}`,
    `status      ${stake.status}${problem === undefined ? ' (admitted by routers)' : ` (not admitted: ${problem.reason})`}`,
    `operator    ${stake.operator}`,
    `stake       ${neu(stake.stake)} bonded (minimum ${neu(stake.minStake)})`,
  ];
  if (stake.unbonding > 0n) {
    const left = stake.unbondingEnd - Math.floor(now / 1_000);
    const when = new Date(stake.unbondingEnd * 1_000).toISOString();
    lines.push(
      `unbonding   ${neu(stake.unbonding)}, ${left > 0 ? `frees at ${when} (in ${describeSeconds(left)})` : 'free to withdraw now'}`,
    );
  }
  if (stake.registeredAt > 0) lines.push(`registered  ${new Date(stake.registeredAt * 1_000).toISOString()}`);
  lines.push(`unbonding delay ${describeSeconds(stake.unbondingDelay)}`);
  return lines.join('\n');
}
