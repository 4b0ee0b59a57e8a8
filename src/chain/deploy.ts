// Deploys the whole protocol to any EVM chain and wires its roles. Returns the address book.
import {
  type Abi,
  type Address,
  getAddress,
  getContractAddress,
  type Hex,
  isAddressEqual,
  zeroAddress,
} from 'viem';
import type { AddressBook, ContractAddresses } from './address-book.ts';
import type { NeurinoPublicClient, NeurinoWalletClient } from './clients.ts';
import type { DeployParams } from './deploy-params.ts';
import { DeploymentError } from './errors.ts';
import * as generated from './generated/index.ts';

export interface DeployContext {
  publicClient: NeurinoPublicClient;
  walletClient: NeurinoWalletClient;
  /** Reports each step (contract deployed, role granted) for progress displays. */
  onStep?: (step: string) => void;
}

export async function deployProtocol(context: DeployContext, params: DeployParams): Promise<AddressBook> {
  const { publicClient, walletClient } = context;
  const deployer = walletClient.account.address;
  const step = context.onStep ?? (() => {});

  const deploy = async (
    name: string,
    abi: Abi,
    bytecode: Hex,
    args: readonly unknown[],
  ): Promise<Address> => {
    const hash = await walletClient.deployContract({ abi, bytecode, args });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success' || !receipt.contractAddress) {
      throw new DeploymentError(`deploying ${name} failed (tx ${hash})`, { name, hash });
    }
    const address = getAddress(receipt.contractAddress);
    step(`deployed ${name} at ${address}`);
    return address;
  };

  const startBlock = Number(await publicClient.getBlockNumber());
  // The token mints to the emission vault and the vesting wallets in its constructor, and they need the
  // token's address in theirs: the token's address follows from the deployer's nonce.
  const nonce = await publicClient.getTransactionCount({ address: deployer, blockTag: 'pending' });
  const predictedToken = getContractAddress({ from: deployer, nonce: BigInt(nonce + 4) });

  const emissionVault = await deploy(
    'EmissionVault',
    generated.emissionVaultAbi,
    generated.emissionVaultBytecode,
    [predictedToken, deployer],
  );
  const computeReservoir = await deploy(
    'ComputeReservoir',
    generated.computeReservoirAbi,
    generated.computeReservoirBytecode,
    [predictedToken, deployer],
  );
  const { vesting } = params;
  const teamVesting = await deploy(
    'NeurinoVesting (team)',
    generated.neurinoVestingAbi,
    generated.neurinoVestingBytecode,
    [params.teamBeneficiary, vesting.start, vesting.teamDuration, vesting.teamCliff],
  );
  const privateSaleVesting = await deploy(
    'NeurinoVesting (private sale)',
    generated.neurinoVestingAbi,
    generated.neurinoVestingBytecode,
    [params.privateSaleBeneficiary, vesting.start, vesting.privateDuration, vesting.privateCliff],
  );
  const neurinoToken = await deploy(
    'NeurinoToken',
    generated.neurinoTokenAbi,
    generated.neurinoTokenBytecode,
    [
      {
        earlyCommunity: params.treasury,
        initialLiquidity: params.treasury,
        marketing: params.treasury,
        privateSale: privateSaleVesting,
        teamAndAdvisors: teamVesting,
        treasury: params.treasury,
        emission: emissionVault,
      },
    ],
  );
  if (!isAddressEqual(neurinoToken, predictedToken)) {
    throw new DeploymentError(
      'the token landed at an unexpected address: was another transaction sent meanwhile?',
      {
        predictedToken,
        neurinoToken,
      },
    );
  }
  const stakedNeurino = await deploy(
    'StakedNeurino',
    generated.stakedNeurinoAbi,
    generated.stakedNeurinoBytecode,
    [neurinoToken, deployer],
  );
  const nodeRegistry = await deploy(
    'NodeRegistry',
    generated.nodeRegistryAbi,
    generated.nodeRegistryBytecode,
    [
      neurinoToken,
      computeReservoir,
      deployer,
      params.minStake,
      params.auditWindowSeconds,
      params.unbondingDelaySeconds,
    ],
  );
  const podRegistry = await deploy('PodRegistry', generated.podRegistryAbi, generated.podRegistryBytecode, [
    deployer,
    params.maxDeployerShareBps,
    params.maxPricePerUnit,
  ]);
  const computeCredits = await deploy(
    'ComputeCredits',
    generated.computeCreditsAbi,
    generated.computeCreditsBytecode,
    [neurinoToken, deployer, params.creditWithdrawalDelaySeconds],
  );
  const settlement = await deploy('Settlement', generated.settlementAbi, generated.settlementBytecode, [
    neurinoToken,
    computeCredits,
    podRegistry,
    stakedNeurino,
    deployer,
    params.buybackBps,
    params.frontendBps,
  ]);

  const contracts: ContractAddresses = {
    neurinoToken,
    emissionVault,
    computeReservoir,
    teamVesting,
    privateSaleVesting,
    stakedNeurino,
    nodeRegistry,
    podRegistry,
    computeCredits,
    settlement,
  };
  await wireRoles(context, contracts, params);

  return {
    chainId: publicClient.chain.id,
    deployer,
    governance: params.governance,
    router: params.router,
    deployedAtBlock: startBlock + 1,
    contracts,
  };
}

type RoleTarget = { name: string; address: Address; abi: Abi; role: string; member: Address };

async function wireRoles(
  context: DeployContext,
  contracts: ContractAddresses,
  params: DeployParams,
): Promise<void> {
  const grants: RoleTarget[] = [
    {
      name: 'ComputeCredits',
      address: contracts.computeCredits,
      abi: generated.computeCreditsAbi,
      role: 'SETTLEMENT_ROLE',
      member: contracts.settlement,
    },
    {
      name: 'StakedNeurino',
      address: contracts.stakedNeurino,
      abi: generated.stakedNeurinoAbi,
      role: 'REWARDER_ROLE',
      member: contracts.settlement,
    },
    {
      name: 'Settlement',
      address: contracts.settlement,
      abi: generated.settlementAbi,
      role: 'ROUTER_ROLE',
      member: params.router,
    },
  ];
  if (params.validator && params.validator !== zeroAddress) {
    grants.push({
      name: 'NodeRegistry',
      address: contracts.nodeRegistry,
      abi: generated.nodeRegistryAbi,
      role: 'SLASHER_ROLE',
      member: params.validator,
    });
  }
  for (const grant of grants) await grantRole(context, grant);

  const deployer = context.walletClient.account.address;
  if (params.governance.toLowerCase() === deployer.toLowerCase()) return;
  // Hand every contract to governance, then step down: the deployer keeps no power.
  const administered: Array<Omit<RoleTarget, 'role' | 'member'>> = [
    { name: 'EmissionVault', address: contracts.emissionVault, abi: generated.emissionVaultAbi },
    { name: 'ComputeReservoir', address: contracts.computeReservoir, abi: generated.computeReservoirAbi },
    { name: 'StakedNeurino', address: contracts.stakedNeurino, abi: generated.stakedNeurinoAbi },
    { name: 'NodeRegistry', address: contracts.nodeRegistry, abi: generated.nodeRegistryAbi },
    { name: 'PodRegistry', address: contracts.podRegistry, abi: generated.podRegistryAbi },
    { name: 'ComputeCredits', address: contracts.computeCredits, abi: generated.computeCreditsAbi },
    { name: 'Settlement', address: contracts.settlement, abi: generated.settlementAbi },
  ];
  for (const target of administered) {
    await grantRole(context, { ...target, role: 'DEFAULT_ADMIN_ROLE', member: params.governance });
    await send(context, target.address, target.abi, 'renounceRole', [
      await roleId(context, target, 'DEFAULT_ADMIN_ROLE'),
      deployer,
    ]);
    context.onStep?.(`${target.name}: admin handed to governance`);
  }
}

async function roleId(
  context: DeployContext,
  target: { address: Address; abi: Abi },
  role: string,
): Promise<Hex> {
  return (await context.publicClient.readContract({
    address: target.address,
    abi: target.abi,
    functionName: role,
  })) as Hex;
}

async function grantRole(context: DeployContext, target: RoleTarget): Promise<void> {
  const id = await roleId(context, target, target.role);
  await send(context, target.address, target.abi, 'grantRole', [id, target.member]);
  context.onStep?.(`${target.name}: ${target.role} granted to ${target.member}`);
}

async function send(
  context: DeployContext,
  address: Address,
  abi: Abi,
  functionName: string,
  args: unknown[],
): Promise<void> {
  const hash = await context.walletClient.writeContract({
    address,
    abi,
    functionName,
    args,
    chain: context.walletClient.chain,
  });
  const receipt = await context.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') {
    throw new DeploymentError(`${functionName} on ${address} reverted (tx ${hash})`, {
      address,
      functionName,
      hash,
    });
  }
}
