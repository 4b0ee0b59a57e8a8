// `neurino chain`: the embedded chain alone (anvil + contracts), kept across restarts.
import { Command } from 'commander';
import { startEmbeddedChain } from '../../chain/embedded-chain.ts';
import { DEFAULT_DATA_DIR, parsePort } from '../options.ts';
import { describeChain } from '../print-chain.ts';
import { onShutdown } from '../shutdown.ts';

export function chainCommand(): Command {
  return new Command('chain')
    .description('start the embedded chain (anvil), deploy the contracts on first start, print addresses')
    .option('--data-dir <dir>', 'where the chain state and address book live', DEFAULT_DATA_DIR)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'JSON-RPC port', parsePort, 8545)
    .action(async (options: { dataDir: string; host: string; port: number }) => {
      const chain = await startEmbeddedChain({
        dataDir: options.dataDir,
        host: options.host,
        port: options.port,
        onStep: (step) => console.error(`  ${step}`),
      });
      onShutdown(() => chain.stop());
      console.log(chain.deployed ? 'contracts deployed' : 'chain restored from saved state');
      console.log(describeChain(chain.anvil.rpcUrl, chain.book, { devAccounts: true }));
      console.log('\nCtrl-C stops the chain and saves its state.');
    });
}
