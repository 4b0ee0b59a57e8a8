// What a router checks on-chain before it serves: that it may settle, and who deployed its pods.
import type { Address, Hex } from 'viem';
import type { NeurinoPublicClient } from '../../chain/clients.ts';
import { podRegistryAbi } from '../../chain/generated/index.ts';
import { hasRouterRole } from '../../chain/router-role.ts';
import { FatalError, RetryableError } from '../../protocol/errors.ts';

/** Refuses to start a router whose key cannot settle: every receipt it charged would wait forever. */
export async function assertRouterRole(
  publicClient: NeurinoPublicClient,
  settlement: Address,
  router: Address,
): Promise<void> {
  const allowed = await readChain('Settlement roles', () => hasRouterRole(publicClient, settlement, router));
  if (!allowed) {
    throw new FatalError('forbidden', {
      message: `router key ${router} lacks ROUTER_ROLE on Settlement ${settlement}: it could not settle receipts`,
    });
  }
}

/** The registered deployer of a pod, or undefined when the pod is not on-chain (its jobs cannot settle). */
export async function podDeployer(
  publicClient: NeurinoPublicClient,
  podRegistry: Address,
  podId: Hex,
): Promise<Address | undefined> {
  const contract = { address: podRegistry, abi: podRegistryAbi } as const;
  return readChain('the pod registry', async () => {
    const exists = await publicClient.readContract({ ...contract, functionName: 'exists', args: [podId] });
    if (!exists) return undefined;
    const pod = await publicClient.readContract({ ...contract, functionName: 'pod', args: [podId] });
    return pod.deployer;
  });
}

async function readChain<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (cause) {
    throw new RetryableError('chain_error', { message: `could not read ${what}`, cause });
  }
}
