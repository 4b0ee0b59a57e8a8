// What a deployment needs to know. Defaults suit the devnet; a real chain passes its own.
import type { Address } from 'viem';
import { parseEther } from 'viem';

export interface DeployParams {
  /** Holds DEFAULT_ADMIN_ROLE on every contract at the end (the timelock, once economics lands). */
  governance: Address;
  /** Granted ROUTER_ROLE on Settlement. */
  router: Address;
  /** Granted SLASHER_ROLE on NodeRegistry, when given. */
  validator?: Address;
  /** Receive the unvested buckets (early community, liquidity, marketing, treasury). */
  treasury: Address;
  teamBeneficiary: Address;
  privateSaleBeneficiary: Address;
  vesting: {
    start: bigint;
    teamDuration: bigint;
    teamCliff: bigint;
    privateDuration: bigint;
    privateCliff: bigint;
  };
  minStake: bigint;
  auditWindowSeconds: bigint;
  unbondingDelaySeconds: bigint;
  maxDeployerShareBps: number;
  maxPricePerUnit: bigint;
  creditWithdrawalDelaySeconds: bigint;
  buybackBps: number;
  frontendBps: number;
}

const DAY = 86_400n;
const MONTH = (365n * DAY) / 12n;

export function defaultDeployParams(
  accounts: Pick<DeployParams, 'governance' | 'router' | 'treasury'> & Partial<DeployParams>,
  now: bigint = BigInt(Math.floor(Date.now() / 1000)),
): DeployParams {
  return {
    teamBeneficiary: accounts.treasury,
    privateSaleBeneficiary: accounts.treasury,
    // The terms of NeurinoVesting's constants: a 3-month cliff inside 24 months, for team and private sale.
    vesting: {
      start: now,
      teamDuration: 24n * MONTH,
      teamCliff: 3n * MONTH,
      privateDuration: 24n * MONTH,
      privateCliff: 3n * MONTH,
    },
    minStake: parseEther('1000'),
    auditWindowSeconds: 3n * DAY,
    unbondingDelaySeconds: 7n * DAY,
    maxDeployerShareBps: 5_000,
    maxPricePerUnit: parseEther('1'),
    creditWithdrawalDelaySeconds: DAY,
    buybackBps: 500,
    frontendBps: 1_000,
    ...accounts,
  };
}
