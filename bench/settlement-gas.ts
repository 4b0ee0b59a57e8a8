// Gas of settling 1,000 jobs (100 payers, 20 nodes, 5 pods, 2 frontends) in one batch vs one
// transaction per job, from the same chain state (evm_snapshot / evm_revert), in one run.
import { type Address, type Hex, keccak256, parseEther, toHex, zeroAddress } from 'viem';
import { startAnvil } from '../src/chain/anvil.ts';
import { chainFor, publicClientFor, walletClientFor } from '../src/chain/clients.ts';
import { deployProtocol } from '../src/chain/deploy.ts';
import { defaultDeployParams } from '../src/chain/deploy-params.ts';
import { devRoleAccount } from '../src/chain/dev-accounts.ts';
import {
  computeCreditsAbi,
  neurinoTokenAbi,
  podRegistryAbi,
  settlementAbi,
} from '../src/chain/generated/index.ts';
import { aggregateReceipts, type SettleableReceipt } from '../src/orchestration/settlement/aggregate.ts';
import { freePort } from '../test/support/free-port.ts';

const JOBS = 1_000;
const PAYERS = 100;
const NODES = 20;
const PODS = 5;
const FRONTENDS = 2;

const address = (tag: number, i: number): Address =>
  `0x${tag.toString(16).padStart(8, '0')}${i.toString(16).padStart(32, '0')}`;

export interface SettlementGasResult {
  batchedGasPerJob: number;
  perJobGas: number;
  ratio: number;
}

export async function benchSettlementGas(): Promise<SettlementGasResult> {
  const anvil = await startAnvil({ port: await freePort() });
  try {
    const chain = chainFor(anvil.chainId, anvil.rpcUrl);
    const publicClient = publicClientFor(chain);
    const deployer = devRoleAccount('deployer');
    const router = devRoleAccount('router');
    const book = await deployProtocol(
      { publicClient, walletClient: walletClientFor(chain, deployer) },
      defaultDeployParams({
        governance: deployer.address,
        router: router.address,
        treasury: deployer.address,
      }),
    );
    const { neurinoToken, computeCredits, podRegistry, settlement } = book.contracts;
    const asDeployer = walletClientFor(chain, deployer);
    const asRouter = walletClientFor(chain, router);
    const wait = async (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });

    const perPayer = parseEther('1000');
    await wait(
      await asDeployer.writeContract({
        address: neurinoToken,
        abi: neurinoTokenAbi,
        functionName: 'approve',
        args: [computeCredits, perPayer * BigInt(PAYERS)],
      }),
    );
    for (let p = 0; p < PAYERS; p++) {
      await wait(
        await asDeployer.writeContract({
          address: computeCredits,
          abi: computeCreditsAbi,
          functionName: 'depositFor',
          args: [address(1, p), perPayer],
        }),
      );
    }
    const pods: Hex[] = [];
    for (let i = 0; i < PODS; i++) {
      const podId = keccak256(toHex(`bench pod ${i}`));
      pods.push(podId);
      const params = {
        runtime: 0,
        validation: 2,
        deterministic: false,
        minVramMiB: 0,
        deployerShareBps: 1_000 + i * 500,
        minReplicas: 0,
        maxReplicas: 8,
        pricePerUnit: 1_000n,
      };
      await wait(
        await asDeployer.writeContract({
          address: podRegistry,
          abi: podRegistryAbi,
          functionName: 'register',
          args: [podId, params],
        }),
      );
    }

    // A deterministic spread of jobs over payers, pods, nodes and frontends (some with no frontend).
    const receipts: SettleableReceipt[] = [];
    for (let j = 0; j < JOBS; j++) {
      receipts.push({
        payer: address(1, (j * 37) % PAYERS),
        podId: pods[(j * 7) % PODS] as Hex,
        node: address(2, (j * 13) % NODES),
        frontend: j % 3 === 2 ? zeroAddress : address(3, j % FRONTENDS),
        price: parseEther('0.001') + BigInt(j) * 1_000_000_000n,
        computeUnits: 1_000n + BigInt(j),
      });
    }

    const snapshot = (await publicClient.request({ method: 'evm_snapshot' as never })) as Hex;
    const batch = aggregateReceipts(receipts);
    const batchReceipt = await wait(
      await asRouter.writeContract({
        address: settlement,
        abi: settlementAbi,
        functionName: 'settle',
        args: [
          {
            sequence: 0n,
            receiptsRoot: keccak256(toHex('bench')),
            receiptCount: JOBS,
            debits: batch.debits,
            lines: batch.lines,
          },
        ],
        gas: 30_000_000n,
      }),
    );
    if (batchReceipt.status !== 'success') throw new Error('batched settle reverted');
    await publicClient.request({ method: 'evm_revert' as never, params: [snapshot] as never });

    let perJobTotal = 0n;
    for (let j = 0; j < JOBS; j++) {
      const one = aggregateReceipts([receipts[j] as SettleableReceipt]);
      const receipt = await wait(
        await asRouter.writeContract({
          address: settlement,
          abi: settlementAbi,
          functionName: 'settle',
          args: [
            {
              sequence: BigInt(j),
              receiptsRoot: keccak256(toHex(j)),
              receiptCount: 1,
              debits: one.debits,
              lines: one.lines,
            },
          ],
        }),
      );
      if (receipt.status !== 'success') throw new Error(`per-job settle ${j} reverted`);
      perJobTotal += receipt.gasUsed;
    }

    const batchedGasPerJob = Number(batchReceipt.gasUsed) / JOBS;
    const perJobGas = Number(perJobTotal) / JOBS;
    return { batchedGasPerJob, perJobGas, ratio: perJobGas / batchedGasPerJob };
  } finally {
    await anvil.stop();
  }
}

export function printSettlementGas(result: SettlementGasResult): void {
  console.log(
    `settlement: ${JOBS} jobs, ${PAYERS} payers, ${NODES} nodes, ${PODS} pods, ${FRONTENDS} frontends`,
  );
  console.log(`  batched (1 tx of ${JOBS})   ${result.batchedGasPerJob.toFixed(0).padStart(8)} gas/job`);
  console.log(`  one tx per job          ${result.perJobGas.toFixed(0).padStart(8)} gas/job`);
  console.log(
    `  ratio                   ${result.ratio.toFixed(1).padStart(8)}x cheaper batched (target >= 50x)`,
  );
}
