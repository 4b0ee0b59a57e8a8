import { type Address, formatEther } from 'viem';
import type { NeurinoPublicClient } from '../../chain/clients.ts';
import { nodeRegistryAbi } from '../../chain/generated/index.ts';
import { RetryableError } from '../../protocol/errors.ts';
import type { AdmissionResult, NodeAdmission } from './node-admission.ts';

/** NodeRegistry.NodeStatus, in declaration order. */
export const NODE_STATUS = { none: 0, active: 1, exiting: 2, jailed: 3 } as const;

export interface ChainNodeAdmissionOptions {
  publicClient: NeurinoPublicClient;
  nodeRegistry: Address;
}

/**
 * Admission from the node's on-chain record: only an Active node with at least the minimum bonded stake
 * serves jobs (the same rule as `NodeRegistry.isActive`, read in full so a refusal can say why).
 */
export function chainNodeAdmission(options: ChainNodeAdmissionOptions): NodeAdmission {
  const { publicClient, nodeRegistry } = options;
  const contract = { address: nodeRegistry, abi: nodeRegistryAbi } as const;
  return {
    async check(node) {
      let info: { status: number; stake: bigint };
      let minStake: bigint;
      try {
        [info, minStake] = await Promise.all([
          publicClient.readContract({ ...contract, functionName: 'nodeInfo', args: [node] }),
          publicClient.readContract({ ...contract, functionName: 'minStake' }),
        ]);
      } catch (cause) {
        throw new RetryableError('chain_error', {
          message: 'could not read the node registry',
          details: { nodeRegistry },
          cause,
        });
      }
      return admissionFromNodeInfo(node, info, minStake);
    },
  };
}

/** The decision for one node record; pure, so every branch is easy to test. */
export function admissionFromNodeInfo(
  node: Address,
  info: { status: number; stake: bigint },
  minStake: bigint,
): AdmissionResult {
  const stake = `${formatEther(info.stake)} NEU`;
  const minimum = `${formatEther(minStake)} NEU`;
  switch (info.status) {
    case NODE_STATUS.none:
      return {
        ok: false,
        code: 'node_not_registered',
        reason: `node ${node} is not registered in the NodeRegistry; register it with at least ${minimum} of stake`,
      };
    case NODE_STATUS.jailed:
      return {
        ok: false,
        code: 'node_jailed',
        reason: `node ${node} was slashed and is jailed; only governance can release it`,
      };
    case NODE_STATUS.exiting:
      return {
        ok: false,
        code: 'node_not_staked',
        reason: `node ${node} is exiting (bonded stake ${stake}); add stake to reach the minimum of ${minimum}`,
      };
    case NODE_STATUS.active:
      if (info.stake >= minStake) return { ok: true };
      return {
        ok: false,
        code: 'node_not_staked',
        reason: `node ${node} has ${stake} bonded, below the minimum of ${minimum}`,
      };
    default:
      return {
        ok: false,
        code: 'node_not_registered',
        reason: `node ${node} has an unknown registry status ${info.status}`,
      };
  }
}
