// A pod deployer's side of PodRegistry, for `neurino pod`: register a spec (simulated first, so a refusal
// is told in words) and read back what the chain holds for a pod id.
import type { Address, Hex, PrivateKeyAccount } from 'viem';
import { walletClientFor } from '../chain/clients.ts';
import { podRegistryAbi } from '../chain/generated/index.ts';
import { podParamsFromSpec } from '../chain/pod-registration.ts';
import { type PodSpec, podId as podIdOf } from '../protocol/pod-spec.ts';
import type { ResolvedChain } from './chain-flags.ts';
import { type CustomError, refused, sent } from './chain-writes.ts';

export interface RegisteredPod {
  deployer: Address;
  registeredAt: number;
  retired: boolean;
  pricePerUnit: bigint;
  deployerShareBps: number;
  minReplicas: number;
  maxReplicas: number;
  minVramMiB: number;
}

const registryOf = (chain: ResolvedChain) =>
  ({ address: chain.contracts.podRegistry, abi: podRegistryAbi }) as const;

/** What PodRegistry holds for the pod, or undefined when it was never registered. */
export async function readRegisteredPod(
  chain: ResolvedChain,
  podId: Hex,
): Promise<RegisteredPod | undefined> {
  const registry = registryOf(chain);
  if (!(await chain.publicClient.readContract({ ...registry, functionName: 'exists', args: [podId] }))) {
    return undefined;
  }
  const pod = await chain.publicClient.readContract({ ...registry, functionName: 'pod', args: [podId] });
  return {
    deployer: pod.deployer,
    registeredAt: Number(pod.registeredAt),
    retired: pod.retired,
    pricePerUnit: pod.params.pricePerUnit,
    deployerShareBps: pod.params.deployerShareBps,
    minReplicas: pod.params.minReplicas,
    maxReplicas: pod.params.maxReplicas,
    minVramMiB: Number(pod.params.minVramMiB),
  };
}

/** Registers the spec with the key account as its deployer; refused in words (taken, above a cap, …). */
export async function registerPod(
  chain: ResolvedChain,
  account: PrivateKeyAccount,
  spec: PodSpec,
): Promise<{ podId: Hex; hash: Hex }> {
  const podId = podIdOf(spec);
  const wallet = walletClientFor(chain.publicClient.chain, account);
  try {
    const { request } = await chain.publicClient.simulateContract({
      ...registryOf(chain),
      account,
      functionName: 'register',
      args: [podId, podParamsFromSpec(spec)],
    });
    return { podId, hash: await sent(chain.publicClient, await wallet.writeContract(request)) };
  } catch (cause) {
    throw refused(`PodRegistry refused ${spec.name}`, cause, registerReason);
  }
}

function registerReason({ errorName, args }: CustomError): string | undefined {
  switch (errorName) {
    case 'PodAlreadyRegistered':
      return `pod ${String(args[0])} is registered already (\`neurino pod show\` names its deployer)`;
    case 'DeployerShareAboveCap':
      return `a deployer share of ${args[0]} bps is above governance's cap of ${args[1]} bps`;
    case 'PriceAboveCap':
      return `a price of ${args[0]} wei per unit is above governance's cap of ${args[1]} wei`;
    case 'InvalidReplicaBounds':
      return `replica bounds ${args[0]}..${args[1]} are invalid (max > 0 and min <= max)`;
    case 'ValidationNeedsDeterminism':
      return 'validation by re-execution needs a deterministic pod';
    default:
      return undefined;
  }
}
