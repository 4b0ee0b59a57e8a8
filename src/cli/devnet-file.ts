// `.neurino/devnet.json`: what `neurino devnet` brought up, machine-readable for scripts and tests.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ContractAddresses } from '../chain/address-book.ts';

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
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(content, null, 2)}\n`);
  await rename(temp, path);
  return path;
}
