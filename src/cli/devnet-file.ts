// `.neurino/devnet.json`: what `neurino devnet` brought up, machine-readable for scripts and tests.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Address } from 'viem';
import type { ContractAddresses } from '../chain/address-book.ts';
import { writeJsonFile } from '../chain/json-file.ts';

export interface DevnetFile {
  rpcUrl: string;
  chainId: number;
  contracts: ContractAddresses;
  /** The gateway's origin (`/health`, `/v1/...`). */
  gatewayUrl?: string;
  /** What OpenAI's clients take as their base URL: the gateway's `/v1`. */
  baseUrl?: string;
  /** The router's operators' listener: /health, /metrics, /nodes, /pods, /admin/keys. */
  operationsUrl?: string;
  /** The token that listener asks for (`Authorization: Bearer`). */
  operatorTokenFile?: string;
  apiKey?: string;
  /** Who earns from the devnet's settled batches: its nodes, the pod's deployer, the gateway's frontend. */
  earners?: DevnetEarner[];
}

export interface DevnetEarner {
  role: string;
  address: Address;
}

export function devnetFilePath(dataDir: string): string {
  return join(dataDir, 'devnet.json');
}

export async function writeDevnetFile(dataDir: string, content: DevnetFile): Promise<string> {
  const path = devnetFilePath(dataDir);
  await writeJsonFile(path, content);
  return path;
}

/** What a running (or last) devnet left in `dataDir`, or undefined when there is none to read. */
export async function readDevnetFile(dataDir: string): Promise<Partial<DevnetFile> | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(devnetFilePath(dataDir), 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Partial<DevnetFile>) : undefined;
  } catch {
    return undefined;
  }
}
