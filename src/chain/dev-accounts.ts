// Deterministic dev accounts of the embedded chain (anvil's well-known mnemonic: never use on a real chain).
import { type HDAccount, mnemonicToAccount } from 'viem/accounts';
import { DEV_MNEMONIC } from './anvil.ts';

/** Which dev account plays which part on the devnet. */
export const DEV_ROLES = {
  deployer: 0,
  router: 1,
  validator: 2,
  podDeployer: 3,
  frontend: 4,
  developer: 5,
  firstMiner: 10,
} as const;

export type DevRole = keyof typeof DEV_ROLES;

export function devAccount(index: number, mnemonic: string = DEV_MNEMONIC): HDAccount {
  return mnemonicToAccount(mnemonic, { addressIndex: index });
}

export function devRoleAccount(role: DevRole, mnemonic: string = DEV_MNEMONIC): HDAccount {
  return devAccount(DEV_ROLES[role], mnemonic);
}

/** The private key of a dev account, for printing and for child processes on the devnet. */
export function devPrivateKey(index: number, mnemonic: string = DEV_MNEMONIC): `0x${string}` {
  const key = devAccount(index, mnemonic).getHdKey().privateKey;
  if (!key) throw new Error(`no private key for dev account ${index}`);
  return `0x${Buffer.from(key).toString('hex')}`;
}
