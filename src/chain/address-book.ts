// The address book: where the protocol's contracts live on a chain, as JSON on disk.
import { readFile } from 'node:fs/promises';
import { getAddress, isAddress } from 'viem';
import { z } from 'zod';
import { AddressBookError } from './errors.ts';
import { writeJsonFile } from './json-file.ts';

const address = z
  .string()
  .refine((value) => isAddress(value), 'not an address')
  .transform((v) => getAddress(v));

export const contractsSchema = z.object({
  neurinoToken: address,
  emissionVault: address,
  computeReservoir: address,
  teamVesting: address,
  privateSaleVesting: address,
  stakedNeurino: address,
  nodeRegistry: address,
  podRegistry: address,
  computeCredits: address,
  settlement: address,
});

export const addressBookSchema = z.object({
  chainId: z.number().int().positive(),
  deployer: address,
  governance: address,
  router: address,
  deployedAtBlock: z.number().int().nonnegative(),
  contracts: contractsSchema,
});

export type ContractAddresses = z.infer<typeof contractsSchema>;
export type AddressBook = z.infer<typeof addressBookSchema>;

export async function readAddressBook(path: string): Promise<AddressBook | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = addressBookSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    throw new AddressBookError(`address book ${path} is invalid: ${z.prettifyError(parsed.error)}`, { path });
  }
  return parsed.data;
}

/** Writes atomically so a crash never leaves half a book. */
export function writeAddressBook(path: string, book: AddressBook): Promise<void> {
  return writeJsonFile(path, book);
}
