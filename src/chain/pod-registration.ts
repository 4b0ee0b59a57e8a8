// A PodSpec on-chain: its PodRegistry parameters, and an idempotent registration.
import type { Address } from 'viem';
import { type PodSpec, podId as podIdOf } from '../protocol/pod-spec.ts';
import type { NeurinoPublicClient, NeurinoWalletClient } from './clients.ts';
import { DeploymentError } from './errors.ts';
import { podRegistryAbi } from './generated/index.ts';

/** Order of PodTypes.sol's `Runtime` enum. */
const RUNTIME_INDEX: Record<PodSpec['runtime'], number> = {
  'llama-cpp': 0,
  'openai-upstream': 1,
  'snarkjs-groth16': 2,
  process: 3,
} as const;
/** Order of PodTypes.sol's `ValidationMethod` enum. */
const VALIDATION_INDEX: Record<PodSpec['validation']['method'], number> = {
  none: 0,
  reexecute: 1,
  'llm-distribution': 2,
  'zk-verify': 3,
  'held-out-loss': 4,
};

export function podParamsFromSpec(spec: PodSpec) {
  return {
    runtime: RUNTIME_INDEX[spec.runtime],
    validation: VALIDATION_INDEX[spec.validation.method],
    deterministic: spec.deterministic,
    minVramMiB: spec.minVramMiB,
    deployerShareBps: spec.deployerShareBps,
    minReplicas: spec.autoscale.min,
    maxReplicas: spec.autoscale.max,
    pricePerUnit: spec.pricePerUnit,
  } as const;
}

/** Registers the pod from the wallet's account unless it exists; returns whether it sent a transaction. */
export async function ensurePodRegistered(params: {
  publicClient: NeurinoPublicClient;
  walletClient: NeurinoWalletClient;
  podRegistry: Address;
  spec: PodSpec;
}): Promise<{ podId: `0x${string}`; registered: boolean }> {
  const { publicClient, walletClient, podRegistry, spec } = params;
  const podId = podIdOf(spec);
  const contract = { address: podRegistry, abi: podRegistryAbi } as const;
  if (await publicClient.readContract({ ...contract, functionName: 'exists', args: [podId] })) {
    return { podId, registered: false };
  }
  const hash = await walletClient.writeContract({
    ...contract,
    functionName: 'register',
    args: [podId, podParamsFromSpec(spec)],
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success')
    throw new DeploymentError(`registering pod ${spec.name} reverted`, { hash });
  return { podId, registered: true };
}
