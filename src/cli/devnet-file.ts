// `.neurino/devnet.json`: what `neurino devnet` brought up, machine-readable for scripts and tests.
import { join } from 'node:path';
import type { ContractAddresses } from '../chain/address-book.ts';
import { writeJsonFile } from '../chain/json-file.ts';

export interface DevnetFile {
  rpcUrl: string;
  chainId: number;
  contracts: ContractAddresses;
  gatewayUrl?: string;
  apiKey?: string;
}

export function devnetFilePath(dataDir: string): string {
  return join(dataDir, 'devnet.json');
}

export async function writeDevnetFile(dataDir: string, content: DevnetFile): Promise<string> {
  const path = devnetFilePath(dataDir);
  await writeJsonFile(path, content);
  return path;
}
