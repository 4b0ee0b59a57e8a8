// `neurino devnet` (`npm start`): the whole network on this machine.
import { Command } from 'commander';
import { startEmbeddedChain } from '../../chain/embedded-chain.ts';
import { writeDevnetFile } from '../devnet-file.ts';
import { DEFAULT_DATA_DIR, parsePort } from '../options.ts';
import { describeChain } from '../print-chain.ts';
import { onShutdown } from '../shutdown.ts';

interface DevnetOptions {
  dataDir: string;
  chainPort: number;
}

export function devnetCommand(): Command {
  return new Command('devnet')
    .description('bring up the whole network on this machine (chain, contracts, router+gateway, miners)')
    .option('--data-dir <dir>', 'where every part keeps its state', DEFAULT_DATA_DIR)
    .option('--chain-port <port>', 'JSON-RPC port of the embedded chain', parsePort, 8545)
    .action(async (options: DevnetOptions) => {
      const progress = (step: string) => console.error(`  · ${step}`);
      progress('starting the chain');
      const chain = await startEmbeddedChain({
        dataDir: options.dataDir,
        port: options.chainPort,
        onStep: progress,
      });
      onShutdown(async () => {
        progress('stopping the chain (saving its state)');
        await chain.stop();
      });
      const file = await writeDevnetFile(options.dataDir, {
        rpcUrl: chain.anvil.rpcUrl,
        chainId: chain.book.chainId,
        contracts: chain.book.contracts,
      });
      console.log('\nNeurino devnet is up.\n');
      console.log(describeChain(chain.anvil.rpcUrl, chain.book, { devAccounts: true }));
      console.log(`\nmachine-readable: ${file}`);
      console.log('Ctrl-C stops everything; the next start reuses the state.');
    });
}
