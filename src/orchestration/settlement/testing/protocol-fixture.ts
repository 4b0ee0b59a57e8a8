// Tests only: a real anvil with the protocol deployed, and the few actions metering tests need
// (register a node or a pod, fund a payer's credits, sign receipts as a node, read earnings).
import {
  type Address,
  type Hex,
  keccak256,
  type LocalAccount,
  maxUint256,
  type TransactionReceipt,
  toHex,
  zeroAddress,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { AddressBook } from '../../../chain/address-book.ts';
import { type Anvil, startAnvil } from '../../../chain/anvil.ts';
import {
  chainFor,
  type NeurinoPublicClient,
  type NeurinoWalletClient,
  publicClientFor,
  walletClientFor,
} from '../../../chain/clients.ts';
import { deployProtocol } from '../../../chain/deploy.ts';
import { defaultDeployParams } from '../../../chain/deploy-params.ts';
import { devRoleAccount } from '../../../chain/dev-accounts.ts';
import {
  computeCreditsAbi,
  neurinoTokenAbi,
  nodeRegistryAbi,
  podRegistryAbi,
  settlementAbi,
} from '../../../chain/generated/index.ts';
import type { ProtocolDomain } from '../../../protocol/eip712-domain.ts';
import { randomBytes32 } from '../../../protocol/ids.ts';
import { type Receipt, signReceipt } from '../../../protocol/receipt.ts';

export const BUYBACK_BPS = 500;
export const FRONTEND_BPS = 1_000;

export interface ProtocolFixture {
  anvil: Anvil;
  publicClient: NeurinoPublicClient;
  book: AddressBook;
  domain: ProtocolDomain;
  /** The router's wallet (dev account 1, holds ROUTER_ROLE on Settlement). */
  routerWallet: NeurinoWalletClient;
  walletFor(account: LocalAccount): NeurinoWalletClient;
  /** Sends and waits; throws when the transaction reverts. Sends of one fixture run one at a time. */
  write(account: LocalAccount, request: WriteRequest): Promise<TransactionReceipt>;
  /** Registers `node` in NodeRegistry with `stake` NEU, given to it from the deployer's treasury. */
  registerNode(node: LocalAccount, stake: bigint): Promise<void>;
  /** Registers a new pod as `deployer` and returns its id. */
  registerPod(
    deployer: LocalAccount,
    terms: { deployerShareBps: number; pricePerUnit?: bigint },
  ): Promise<Hex>;
  /** Deposits `amount` NEU of compute credits for `payer`, paid by the deployer's treasury. */
  fund(payer: Address, amount: bigint): Promise<void>;
  /**
   * Settles, as the router, the next batch: one line of `amount` NEU for `node` on `podId` (through
   * `frontend`, if any), paid by a fresh payer funded for it. The parties' shares become their earnings.
   */
  settleLine(line: { podId: Hex; node: Address; frontend?: Address; amount: bigint }): Promise<void>;
  earningsOf(account: Address): Promise<bigint>;
  nextSequence(router: Address): Promise<bigint>;
  /** Gives `account` `wei` of ETH for gas (anvil_setBalance). */
  giveEth(account: Address, wei: bigint): Promise<void>;
  /** Moves the chain's clock on by `seconds` and mines a block. */
  advanceTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export interface WriteRequest {
  address: Address;
  abi: readonly unknown[];
  functionName: string;
  args: readonly unknown[];
}

export async function startProtocolFixture(port: number): Promise<ProtocolFixture> {
  const deployer = devRoleAccount('deployer');
  const router = devRoleAccount('router');
  const anvil = await startAnvil({ port });
  const chain = chainFor(anvil.chainId, anvil.rpcUrl);
  const publicClient = publicClientFor(chain);
  const walletFor = (account: LocalAccount) => walletClientFor(chain, account);
  let book: AddressBook;
  try {
    book = await deployProtocol(
      { publicClient, walletClient: walletFor(deployer) },
      defaultDeployParams({
        governance: deployer.address,
        router: router.address,
        treasury: deployer.address,
      }),
    );
  } catch (error) {
    await anvil.stop();
    throw error;
  }
  const { computeCredits, neurinoToken, podRegistry, settlement } = book.contracts;

  let queue: Promise<unknown> = Promise.resolve();
  const write = (account: LocalAccount, request: WriteRequest): Promise<TransactionReceipt> => {
    const run = queue.then(async () => {
      // biome-ignore lint/suspicious/noExplicitAny: each call site names a function of its ABI
      const hash = await walletFor(account).writeContract(request as any);
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`${request.functionName} reverted (${hash})`);
      return receipt;
    });
    queue = run.catch(() => {});
    return run;
  };
  await write(deployer, {
    address: neurinoToken,
    abi: neurinoTokenAbi,
    functionName: 'approve',
    args: [computeCredits, maxUint256],
  });
  const fund = async (payer: Address, amount: bigint): Promise<void> => {
    await write(deployer, {
      address: computeCredits,
      abi: computeCreditsAbi,
      functionName: 'depositFor',
      args: [payer, amount],
    });
  };
  const nextSequence = async (routerAddress: Address): Promise<bigint> =>
    BigInt(
      await publicClient.readContract({
        address: settlement,
        abi: settlementAbi,
        functionName: 'nextSequence',
        args: [routerAddress],
      }),
    );

  return {
    anvil,
    publicClient,
    book,
    domain: { chainId: anvil.chainId, verifyingContract: settlement },
    routerWallet: walletFor(router),
    walletFor,
    write,
    async registerNode(node, stake) {
      const { nodeRegistry } = book.contracts;
      await write(deployer, {
        address: neurinoToken,
        abi: neurinoTokenAbi,
        functionName: 'transfer',
        args: [node.address, stake],
      });
      await write(node, {
        address: neurinoToken,
        abi: neurinoTokenAbi,
        functionName: 'approve',
        args: [nodeRegistry, stake],
      });
      await write(node, {
        address: nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: 'register',
        args: [node.address, keccak256(toHex(`node ${node.address}`)), stake],
      });
    },
    async registerPod(podDeployer, terms) {
      const podId = keccak256(toHex(`pod ${randomBytes32()}`));
      const params = {
        runtime: 0,
        validation: 2,
        deterministic: false,
        minVramMiB: 0,
        deployerShareBps: terms.deployerShareBps,
        minReplicas: 0,
        maxReplicas: 4,
        pricePerUnit: terms.pricePerUnit ?? 1_000n,
      };
      await write(podDeployer, {
        address: podRegistry,
        abi: podRegistryAbi,
        functionName: 'register',
        args: [podId, params],
      });
      return podId;
    },
    fund,
    async settleLine({ podId, node, frontend = zeroAddress, amount }) {
      const payer = privateKeyToAccount(generatePrivateKey()).address;
      await fund(payer, amount);
      const sequence = await nextSequence(router.address);
      await write(router, {
        address: settlement,
        abi: settlementAbi,
        functionName: 'settle',
        args: [
          {
            sequence,
            receiptsRoot: randomBytes32(),
            receiptCount: 1,
            debits: [{ payer, amount }],
            lines: [{ podId, node, frontend, amount, computeUnits: 1_000n }],
          },
        ],
      });
    },
    earningsOf: (account) =>
      publicClient.readContract({
        address: settlement,
        abi: settlementAbi,
        functionName: 'earningsOf',
        args: [account],
      }),
    nextSequence,
    giveEth: (account, wei) => anvilRpc(anvil.rpcUrl, 'anvil_setBalance', [account, `0x${wei.toString(16)}`]),
    async advanceTime(seconds) {
      await anvilRpc(anvil.rpcUrl, 'evm_increaseTime', [seconds]);
      await anvilRpc(anvil.rpcUrl, 'evm_mine', []);
    },
    stop: () => anvil.stop(),
  };
}

/** One of anvil's own methods (not in viem's public actions); throws on a JSON-RPC error. */
async function anvilRpc(rpcUrl: string, method: string, params: unknown[]): Promise<void> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { error?: { message?: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message ?? 'failed'}`);
}

/** A receipt for a finished job, signed by `node` in `domain` (what a miner returns). */
export async function signedReceipt(
  domain: ProtocolDomain,
  node: LocalAccount,
  fields: {
    jobId?: Hex;
    attemptId?: Hex;
    podId: Hex;
    payer: Address;
    price: bigint;
    frontend?: Address;
    computeUnits?: bigint;
  },
): Promise<{ receipt: Receipt; nodeSignature: Hex }> {
  const startedAt = Date.now() - 100;
  const receipt: Receipt = {
    jobId: fields.jobId ?? randomBytes32(),
    attemptId: fields.attemptId ?? randomBytes32(),
    podId: fields.podId,
    node: node.address,
    frontend: fields.frontend ?? zeroAddress,
    payer: fields.payer,
    computeUnits: fields.computeUnits ?? 1_000n,
    inputTokens: 12,
    outputTokens: 34,
    price: fields.price,
    resultHash: randomBytes32(),
    startedAt,
    finishedAt: startedAt + 100,
  };
  return { receipt, nodeSignature: await signReceipt(node, domain, receipt) };
}
