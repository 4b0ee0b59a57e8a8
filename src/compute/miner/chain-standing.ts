// Before dialing the router: is this node registered and staked? On the devnet it registers itself. Says
// too what the node has earned and not claimed, so an operator sees it at every start.
import type { Logger } from 'pino';
import { type Address, formatEther, type Hex, keccak256, type LocalAccount, stringToBytes } from 'viem';
import { connect, type NeurinoPublicClient, walletClientFor } from '../../chain/clients.ts';
import { settlementAbi } from '../../chain/generated/index.ts';
import { canonicalJson } from '../../protocol/canonical-json.ts';
import { redactUrl } from '../../protocol/redact-url.ts';
import { MinerError } from './errors.ts';
import type { Hardware } from './hardware/probe.ts';
import { type NodeStanding, readNodeStanding, registerNode, standingProblem } from './registration.ts';

export interface MinerChainConfig {
  readonly rpcUrl: string;
  readonly nodeRegistry: Address;
  /** Where the node's earnings are kept (the receipts' EIP-712 verifying contract). */
  readonly settlement?: Address;
  /** Register and stake on start when the node is not admissible yet (the devnet's `--register-on-start`). */
  readonly registerOnStart?: { readonly stake: bigint; readonly operator?: Address };
}

/** What the node announces on-chain about itself: a hash of its hardware, the details stay off-chain. */
export function hardwareDigest(hardware: Hardware): Hex {
  const { gpus, cpu, ramMiB } = hardware;
  return keccak256(stringToBytes(canonicalJson({ gpus, cpu, ramMiB })));
}

/**
 * Reads the node's standing and logs what the router will say about it. With `registerOnStart`, registers
 * (or tops up) first and throws when that fails; otherwise a chain that cannot be read is only a warning,
 * since the router decides admission anyway.
 */
export async function ensureStanding(
  chainConfig: MinerChainConfig,
  account: LocalAccount,
  hardware: Hardware,
  log: Logger,
): Promise<NodeStanding | undefined> {
  const register = chainConfig.registerOnStart;
  try {
    const { chain, publicClient } = await connectTo(chainConfig.rpcUrl);
    const nodeRegistry = chainConfig.nodeRegistry;
    let standing = await readNodeStanding({ publicClient, nodeRegistry, node: account.address });
    if (register !== undefined && !standing.active) {
      const result = await registerNode({
        publicClient,
        walletClient: walletClientFor(chain, account),
        nodeRegistry,
        stake: register.stake,
        metadataHash: hardwareDigest(hardware),
        ...(register.operator === undefined ? {} : { operator: register.operator }),
      });
      standing = result.standing;
      log.info(
        { transactions: result.transactions },
        `node ${result.action}: stake ${formatEther(standing.stake)} NEU`,
      );
    }
    const problem = standingProblem(standing);
    if (problem === undefined)
      log.info(`node is active on-chain with ${formatEther(standing.stake)} NEU staked`);
    else log.warn({ code: problem.code }, `the router will refuse this node: ${problem.reason}`);
    if (chainConfig.settlement !== undefined)
      await logEarnings(publicClient, chainConfig.settlement, account.address, log);
    return standing;
  } catch (error) {
    if (register !== undefined) throw error;
    log.warn({ err: error }, "could not check the node's registration on-chain");
    return undefined;
  }
}

/** Only a line in the log: a chain that cannot say is no reason not to serve. */
async function logEarnings(
  publicClient: NeurinoPublicClient,
  settlement: Address,
  node: Address,
  log: Logger,
) {
  try {
    const earned = await publicClient.readContract({
      address: settlement,
      abi: settlementAbi,
      functionName: 'earningsOf',
      args: [node],
    });
    if (earned > 0n) {
      log.info(
        { earned: earned.toString() },
        `${formatEther(earned)} NEU earned and not claimed yet: neurino earnings claim`,
      );
    }
  } catch (error) {
    log.debug({ err: error }, "could not read the node's earnings");
  }
}

async function connectTo(rpcUrl: string) {
  try {
    return await connect(rpcUrl);
  } catch (cause) {
    throw new MinerError('chain_error', `cannot reach the chain at ${redactUrl(rpcUrl)}`, { cause });
  }
}
