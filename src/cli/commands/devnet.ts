// `neurino devnet` (`npm start`): the whole network on this machine — the embedded chain with the
// contracts, the router+gateway, and local miners serving the tiny model — each part its own process.
import { join } from 'node:path';
import { Command } from 'commander';
import { TINY_MODEL_NAME } from '../../compute/model/tiny-model.ts';
import { startDevnet } from '../devnet/network.ts';
import { whatToTry } from '../devnet/what-to-try.ts';
import { devnetFilePath } from '../devnet-file.ts';
import { DEFAULT_DATA_DIR, parsePort, parsePositiveInt } from '../options.ts';
import { isShuttingDown, onShutdown, shutdown } from '../shutdown.ts';

interface DevnetCommandOptions {
  dataDir: string;
  chainPort: number;
  port: number;
  operationsPort?: number;
  miners: number;
  databaseUrl?: string;
}

export function devnetCommand(): Command {
  return new Command('devnet')
    .description('bring up the whole network on this machine: chain, contracts, router+gateway, miners')
    .option('--data-dir <dir>', 'where every part keeps its state', DEFAULT_DATA_DIR)
    .option('--chain-port <port>', 'JSON-RPC port of the embedded chain', parsePort, 8545)
    .option('--port <port>', 'gateway port (miners dial ws://127.0.0.1:<port>/v1/miners)', parsePort, 8080)
    .option(
      '--operations-port <port>',
      "the router's operators' port: /metrics, /nodes, /pods, /admin/keys (default: the gateway port + 1)",
      parsePort,
    )
    .option('--miners <n>', 'local miners serving the tiny model', parsePositiveInt, 2)
    .option('--database-url <url>', 'a PostgreSQL server for the router (default: PGlite under --data-dir)')
    .action(async (options: DevnetCommandOptions) => {
      const started = Date.now();
      const step = (text: string) =>
        console.error(`  [${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);
      const devnet = await startDevnet({
        ...options,
        operationsPort: options.operationsPort ?? options.port + 1,
        onStep: step,
      });
      onShutdown(async () => {
        step('stopping: miners drain, the router settles, the chain saves');
        await devnet.stop();
        step('stopped: the miners, the router and the chain have exited');
      });
      // Its terminal closed: stop as Ctrl-C does. Left to the signal's default, the devnet would die
      // alone, its parts (each in its own process group) running on without it.
      process.once('SIGHUP', () => void shutdown(0));
      const children = [devnet.router, ...devnet.miners.values()];
      for (const child of children) {
        // A part that dies takes the devnet down with a pointer to its log, rather than leaving it half up.
        void child?.exited.then(async (code) => {
          if (isShuttingDown()) return;
          console.error(`\n${child.name} exited (code ${code}); see ${child.logFile}. Stopping the devnet.`);
          await shutdown(1);
        });
      }
      step('ready');
      const miners = `${options.miners} miner${options.miners === 1 ? '' : 's'}`;
      console.log(`\nNeurino devnet is up: ${miners} serving ${TINY_MODEL_NAME}.\n`);
      console.log(`gateway     ${devnet.gatewayUrl}/v1`);
      console.log(`API key     ${devnet.apiKey}   (credits of ${devnet.developer})`);
      console.log(
        `operations  ${devnet.operationsUrl}/health · /nodes · /pods · /metrics (Prometheus) · /admin/keys   (operator token in ${devnet.operatorTokenFile})`,
      );
      console.log(`chain       ${devnet.rpcUrl} (chain id ${devnet.book.chainId})`);
      console.log(`logs        ${join(options.dataDir, 'logs')}/`);
      console.log(`state       ${devnetFilePath(options.dataDir)}\n`);
      console.log(
        whatToTry(
          {
            gatewayUrl: devnet.gatewayUrl,
            apiKey: devnet.apiKey,
            operationsUrl: devnet.operationsUrl,
            operatorTokenFile: devnet.operatorTokenFile,
            developer: devnet.developer,
            routerDir: join(options.dataDir, 'router'),
          },
          TINY_MODEL_NAME,
        ),
      );
      console.log('\nCtrl-C stops everything; the next start reuses the state.');
    });
}
