// The devnet's chain: anvil with a state file under the data dir, the protocol deployed on first start.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type AddressBook, readAddressBook, writeAddressBook } from './address-book.ts';
import { type Anvil, DEV_CHAIN_ID, startAnvil } from './anvil.ts';
import { chainFor, publicClientFor, walletClientFor } from './clients.ts';
import { deployProtocol } from './deploy.ts';
import { defaultDeployParams } from './deploy-params.ts';
import { devRoleAccount } from './dev-accounts.ts';

export interface EmbeddedChainOptions {
  /** Data directory, e.g. `.neurino`; the chain keeps `chain/state.json` and `chain/addresses.json` there. */
  dataDir: string;
  host?: string;
  port?: number;
  onStep?: (step: string) => void;
}

export interface EmbeddedChain {
  anvil: Anvil;
  book: AddressBook;
  /** True when this start deployed the contracts (first start or a lost state file). */
  deployed: boolean;
  stop(): Promise<void>;
}

export function embeddedChainPaths(dataDir: string): { stateFile: string; addressBook: string } {
  return {
    stateFile: join(dataDir, 'chain', 'state.json'),
    addressBook: join(dataDir, 'chain', 'addresses.json'),
  };
}

export async function startEmbeddedChain(options: EmbeddedChainOptions): Promise<EmbeddedChain> {
  const paths = embeddedChainPaths(options.dataDir);
  await mkdir(join(options.dataDir, 'chain'), { recursive: true });
  const anvil = await startAnvil({
    stateFile: paths.stateFile,
    ownProcessGroup: true,
    ...(options.host !== undefined && { host: options.host }),
    ...(options.port !== undefined && { port: options.port }),
  });
  try {
    const chain = chainFor(DEV_CHAIN_ID, anvil.rpcUrl);
    const publicClient = publicClientFor(chain);
    const existing = await readAddressBook(paths.addressBook);
    if (existing && existing.chainId === DEV_CHAIN_ID) {
      const code = await publicClient.getCode({ address: existing.contracts.settlement });
      if (code && code !== '0x') {
        options.onStep?.('reusing the deployed contracts from the saved chain state');
        return { anvil, book: existing, deployed: false, stop: () => anvil.stop() };
      }
    }
    const deployer = devRoleAccount('deployer');
    const walletClient = walletClientFor(chain, deployer);
    const params = defaultDeployParams({
      governance: deployer.address,
      router: devRoleAccount('router').address,
      validator: devRoleAccount('validator').address,
      treasury: deployer.address,
    });
    const book = await deployProtocol(
      { publicClient, walletClient, ...(options.onStep && { onStep: options.onStep }) },
      params,
    );
    await writeAddressBook(paths.addressBook, book);
    return { anvil, book, deployed: true, stop: () => anvil.stop() };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
