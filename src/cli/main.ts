// The `neurino` command line: one file per command under ./commands.
import { Command } from 'commander';
import { redactUrlsIn } from '../protocol/redact-url.ts';
import { chainCommand } from './commands/chain.ts';
import { creditsCommand } from './commands/credits.ts';
import { deployCommand } from './commands/deploy.ts';
import { devnetCommand } from './commands/devnet.ts';
import { earningsCommand } from './commands/earnings.ts';
import { minerCommand } from './commands/miner.ts';
import { nodesCommand } from './commands/nodes.ts';
import { podCommand } from './commands/pod.ts';
import { podsCommand } from './commands/pods.ts';
import { receiptCommand } from './commands/receipt.ts';
import { routerCommand } from './commands/router.ts';
import { shutdown } from './shutdown.ts';

// Output piped into a reader that stops early (`| head`): stop quietly, as Unix tools do, not with a stack,
// and through the graceful shutdown, so a running chain, router or devnet still stops its children.
const CLOSED_OUTPUT = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (!CLOSED_OUTPUT.has(error.code ?? '')) throw error;
    void shutdown(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}

const program = new Command()
  .name('neurino')
  .description('Neurino: a decentralized serverless GPU cloud for AI')
  .version('0.1.0')
  // Lets a command with subcommands (credits) keep the flags after a subcommand for the subcommand.
  .enablePositionalOptions()
  .showHelpAfterError();

program.addCommand(chainCommand());
program.addCommand(creditsCommand());
program.addCommand(earningsCommand());
program.addCommand(deployCommand());
program.addCommand(devnetCommand());
program.addCommand(minerCommand());
program.addCommand(nodesCommand());
program.addCommand(podsCommand());
program.addCommand(podCommand());
program.addCommand(receiptCommand());
program.addCommand(routerCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // A failed command says what went wrong in one line (URLs redacted: an RPC client's message names the
  // URL it called, key and all, and this line ends up in service logs); the stack only with NEURINO_DEBUG=1.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`neurino: ${redactUrlsIn(message)}`);
  if (process.env.NEURINO_DEBUG === '1') console.error(error);
  process.exit(1);
}
