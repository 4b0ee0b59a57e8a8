// `neurino deploy`: deploy the protocol to any EVM JSON-RPC endpoint and write its address book.
import { Command, InvalidArgumentError } from 'commander';
import { privateKeyToAccount } from 'viem/accounts';
import { writeAddressBook } from '../../chain/address-book.ts';
import { connect, walletClientFor } from '../../chain/clients.ts';
import { deployProtocol } from '../../chain/deploy.ts';
import { defaultDeployParams } from '../../chain/deploy-params.ts';
import { parseAddress, parseHexKey } from '../options.ts';

interface DeployOptions {
  rpcUrl: string;
  privateKey?: `0x${string}`;
  governance?: `0x${string}`;
  router: `0x${string}`;
  validator?: `0x${string}`;
  treasury?: `0x${string}`;
  out: string;
}

export function deployCommand(): Command {
  return new Command('deploy')
    .description('deploy the Neurino contracts to an EVM chain and write the address book (JSON)')
    .requiredOption('--rpc-url <url>', 'JSON-RPC endpoint')
    .option('--private-key <hex>', 'deployer key (or env NEURINO_DEPLOYER_KEY)', parseHexKey)
    .requiredOption('--router <address>', 'address granted ROUTER_ROLE on Settlement', parseAddress)
    .option('--governance <address>', 'final admin of every contract (default: the deployer)', parseAddress)
    .option('--validator <address>', 'address granted SLASHER_ROLE on NodeRegistry', parseAddress)
    .option(
      '--treasury <address>',
      'receiver of the unvested allocations (default: governance)',
      parseAddress,
    )
    .option('--out <file>', 'address book path', 'addresses.json')
    .action(async (options: DeployOptions) => {
      const envKey = process.env.NEURINO_DEPLOYER_KEY;
      const key = options.privateKey ?? (envKey ? parseHexKey(envKey) : undefined);
      if (!key)
        throw new InvalidArgumentError('a deployer key is needed: --private-key or NEURINO_DEPLOYER_KEY');
      const account = privateKeyToAccount(key);
      const { chain, publicClient } = await connect(options.rpcUrl);
      const governance = options.governance ?? account.address;
      const params = defaultDeployParams({
        governance,
        router: options.router,
        treasury: options.treasury ?? governance,
        ...(options.validator && { validator: options.validator }),
      });
      const book = await deployProtocol(
        {
          publicClient,
          walletClient: walletClientFor(chain, account),
          onStep: (s) => console.error(`  ${s}`),
        },
        params,
      );
      await writeAddressBook(options.out, book);
      console.log(`address book written to ${options.out}`);
      console.log(JSON.stringify(book.contracts, null, 2));
    });
}
